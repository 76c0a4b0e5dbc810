#!/usr/bin/env bash
# A test double of MySQL 8's mysqldump, for a server with gtid_mode=ON (no
# MySQL 8 runs here: Debian ships MariaDB). It runs the real mysqldump with
# the arguments given and adds to its output the statements MySQL 8's
# mysqldump writes by default (--set-gtid-purged=AUTO) of such a server, at
# the places it writes them: after the header's settings
#   SET @MYSQLDUMP_TEMP_LOG_BIN = @@SESSION.SQL_LOG_BIN;
#   SET @@SESSION.SQL_LOG_BIN= 0;
#   SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ 'UUID:1-N,\nUUID:1-M';
# and before the footer's
#   SET @@SESSION.SQL_LOG_BIN = @MYSQLDUMP_TEMP_LOG_BIN;
# `--version` is passed through as it is.
set -euo pipefail
for a in "$@"; do
	[ "$a" != --version ] || exec mysqldump --version
done
mysqldump "$@" | awk '
	{ print }
	/SQL_NOTES=0 \*\/;$/ && !head {
		head = 1
		print "SET @MYSQLDUMP_TEMP_LOG_BIN = @@SESSION.SQL_LOG_BIN;"
		print "SET @@SESSION.SQL_LOG_BIN= 0;"
		print ""
		print "--"
		print "-- GTID state at the beginning of the backup "
		print "--"
		print ""
		print "SET @@GLOBAL.GTID_PURGED=/*!80000 '"'"'+'"'"'*/ '"'"'3e11fa47-71ca-11e1-9e33-c80aa9429562:1-77,"
		print "7a2b5c1e-0d3f-11ef-8c4a-0242ac120002:1-5'"'"';"
	}
' | awk '
	/^\/\*!40103 SET TIME_ZONE=@OLD_TIME_ZONE \*\/;$/ && !tail {
		tail = 1
		print "SET @@SESSION.SQL_LOG_BIN = @MYSQLDUMP_TEMP_LOG_BIN;"
	}
	{ print }
'
