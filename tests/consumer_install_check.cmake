# Installs the build tree BUILD into WORK/prefix (cmake --install), then builds
# tests/consumer_install against it with find_package(retrograd) and runs it
# under mpirun (RUN: the command prefix). Checks that the install carries a
# library for every header it installs (retrograd::dist links), and the
# documentation site under share/doc/retrograd when the build has one.
#   cmake -DSOURCE=<retrograd> -DBUILD=<build dir> -DWORK=<dir> "-DRUN=<mpirun...>" -DCXX=<compiler>
#         [-DSANITIZE=<address,undefined>] -P consumer_install_check.cmake
file(REMOVE_RECURSE ${WORK})
set(prefix ${WORK}/prefix)
function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE code OUTPUT_VARIABLE output ERROR_VARIABLE output)
  if(NOT code EQUAL 0)
    message(FATAL_ERROR "${what} failed:\n${output}")
  endif()
endfunction()
run("cmake --install" ${CMAKE_COMMAND} --install ${BUILD} --prefix ${prefix})
if(EXISTS ${BUILD}/docs/html/index.html AND NOT EXISTS ${prefix}/share/doc/retrograd/index.html)
  message(FATAL_ERROR "the build has a documentation site but the install has no share/doc/retrograd/index.html")
endif()
file(GLOB dist_headers ${prefix}/include/retrograd/dist/*.hpp)
file(GLOB dist_library ${prefix}/lib*/libretrograd_dist.* ${prefix}/lib/*/libretrograd_dist.*)
if(dist_headers AND NOT dist_library)
  message(FATAL_ERROR "the install has rg::dist's headers but not its library")
endif()
# The consumer is built as the library was: same compiler, and a sanitized
# library needs the sanitizer's runtime in the program that links it.
set(consumer_flags -DCMAKE_CXX_COMPILER=${CXX})
if(SANITIZE)
  list(APPEND consumer_flags -DCMAKE_CXX_FLAGS=-fsanitize=${SANITIZE} -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=${SANITIZE})
endif()
run("configuring the consumer project" ${CMAKE_COMMAND} -S ${SOURCE}/tests/consumer_install -B ${WORK}/build
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${prefix} ${consumer_flags})
run("building the consumer project" ${CMAKE_COMMAND} --build ${WORK}/build)
separate_arguments(run_prefix UNIX_COMMAND "${RUN}")
run("running the consumer" ${run_prefix} ${WORK}/build/consumer)
file(REMOVE_RECURSE ${WORK})
message(STATUS "an installed retrograd links retrograd::dist and runs")
