# Turns a profile (JSON) into a C array, so the built-in profiles are data
# that ship inside the binary:
#   cmake -DINPUT=profiles/3scale.json -DOUTPUT=profile_3scale.c -DSYMBOL=x -P embed.cmake
file(READ "${INPUT}" content HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," content "${content}")
get_filename_component(name "${INPUT}" NAME)
file(WRITE "${OUTPUT}"
  "/* Generated from ${name} by src/deploy/embed.cmake: do not edit. */\n"
  "extern const char ${SYMBOL}[];\n"
  "const char ${SYMBOL}[] = {${content} 0x00};\n")
