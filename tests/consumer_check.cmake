# Configures tests/consumer (add_subdirectory(retrograd)) in WORK and checks
# that only the library is part of the build: no tests, examples, tutorials
# or benchmarks; that the consumer's own source compiles against the headers
# (C++20 and include paths come with retrograd::retrograd); then again with
# RETROGRAD_BUILD_EXAMPLES=ON, which must add the examples. The library itself
# is not built, so this stays fast.
#   cmake -DSOURCE=<retrograd> -DWORK=<dir> -P consumer_check.cmake
file(REMOVE_RECURSE ${WORK})
function(configure extra)
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE}/tests/consumer -B ${WORK} -G "Unix Makefiles"
                          -DRETROGRAD_SOURCE=${SOURCE} ${extra}
                  RESULT_VARIABLE code OUTPUT_VARIABLE output ERROR_VARIABLE output)
  if(NOT code EQUAL 0)
    message(FATAL_ERROR "configuring the consumer project failed:\n${output}")
  endif()
endfunction()

configure("")
foreach(dir tests examples docs bench)
  if(EXISTS ${WORK}/retrograd/${dir})
    message(FATAL_ERROR "add_subdirectory(retrograd) configured retrograd's ${dir}/; only the library should be")
  endif()
endforeach()
if(NOT EXISTS ${WORK}/retrograd/autodiff)
  message(FATAL_ERROR "add_subdirectory(retrograd) did not configure the library")
endif()

# Only the consumer's object file (Makefiles have a target per object).
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK} --target main.cpp.o
                RESULT_VARIABLE code OUTPUT_VARIABLE output ERROR_VARIABLE output)
if(NOT code EQUAL 0)
  message(FATAL_ERROR "the consumer's main.cpp does not compile against retrograd::retrograd:\n${output}")
endif()

configure("-DRETROGRAD_BUILD_EXAMPLES=ON")
if(NOT EXISTS ${WORK}/retrograd/examples)
  message(FATAL_ERROR "RETROGRAD_BUILD_EXAMPLES=ON did not add retrograd's examples to the consumer's build")
endif()
file(REMOVE_RECURSE ${WORK})
message(STATUS "add_subdirectory(retrograd) builds only the library unless asked")
