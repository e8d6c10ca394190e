# Runs the retrograd tool once and checks its exit code and what it printed
# (standard output and error together), for the cli_* tests.
#   cmake -DPROGRAM=... -DARGS="a|b|c" -DEXIT=2 -DEXPECT=regex [-DREJECT=regex] -P run_cli.cmake
# ARGS separates arguments with "|"; EXPECT must match the output; REJECT, when
# given, must not.
string(REPLACE "|" ";" arguments "${ARGS}")
execute_process(COMMAND "${PROGRAM}" ${arguments}
                RESULT_VARIABLE code OUTPUT_VARIABLE output ERROR_VARIABLE output)
if(NOT code STREQUAL "${EXIT}")
  message(FATAL_ERROR "retrograd ${arguments}: exit code ${code}, expected ${EXIT}; it printed:\n${output}")
endif()
if(NOT output MATCHES "${EXPECT}")
  message(FATAL_ERROR "retrograd ${arguments}: the output does not match '${EXPECT}':\n${output}")
endif()
if(DEFINED REJECT AND output MATCHES "${REJECT}")
  message(FATAL_ERROR "retrograd ${arguments}: the output matches '${REJECT}', which it must not:\n${output}")
endif()
