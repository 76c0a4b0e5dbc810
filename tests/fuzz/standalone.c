/*
 * Runs a fuzz target over files, for compilers without libFuzzer: each
 * argument is a file or a folder of files (the corpus). Then feeds a few
 * thousand mutations of each input, deterministically, so a plain ctest
 * run still explores beyond the corpus.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf, *mut;
	long len;
	int i, k;

	if (!f) {
		perror(path);
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)len + 1);
	mut = malloc((size_t)len + 64);
	if (!buf || !mut || fread(buf, 1, (size_t)len, f) != (size_t)len)
		exit(2);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	for (i = 0; i < 2000; i++) {
		size_t n = (size_t)len;
		memcpy(mut, buf, n);
		for (k = 0; k < 1 + (int)(next() % 4); k++) {
			switch (next() % 4) {
			case 0: /* flip a byte */
				if (n)
					mut[next() % n] ^= (uint8_t)(1 + next() % 255);
				break;
			case 1: /* truncate */
				if (n)
					n = next() % n;
				break;
			case 2: /* insert a byte */
				if (n < (size_t)len + 60) {
					size_t at = n ? next() % n : 0;
					memmove(mut + at + 1, mut + at, n - at);
					mut[at] = (uint8_t)next();
					n++;
				}
				break;
			default: /* an interesting byte */
				if (n)
					mut[next() % n] = "\"{}[]0-9e,:\\\x00\xff"[next() % 14];
			}
		}
		LLVMFuzzerTestOneInput(mut, n);
	}
	free(buf);
	free(mut);
}

int main(int argc, char **argv)
{
	int i, files = 0;

	for (i = 1; i < argc; i++) {
		struct stat sb;
		if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode)) {
			DIR *d = opendir(argv[i]);
			struct dirent *de;
			char path[4096];
			while (d && (de = readdir(d))) {
				if (de->d_name[0] == '.')
					continue;
				snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
				run_file(path);
				files++;
			}
			if (d)
				closedir(d);
		} else {
			run_file(argv[i]);
			files++;
		}
	}
	printf("%d inputs and their mutations ran clean\n", files);
	return files ? 0 : 1;
}
