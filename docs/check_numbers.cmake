# The measured figures of the Fashion-MNIST and character-model runs live in
# one place, the "Measured" table of docs/cli.md. Every accuracy (NN.NN%) and
# every held-out figure (N.NN bits per character) quoted in the pages below,
# and every duration (N s, N min) on the same line as one, must appear in that
# table: a page cannot drift from the measurement.
#   cmake -DSOURCE=<retrograd> -P check_numbers.cmake
file(READ ${SOURCE}/docs/cli.md cli)
string(FIND "${cli}" "## Measured" start)
if(start EQUAL -1)
  message(FATAL_ERROR "docs/cli.md has no '## Measured' section")
endif()
string(SUBSTRING "${cli}" ${start} -1 measured)

set(problems "")
foreach(page README.md docs/tutorials/07-fashion-mnist.md docs/training.md docs/index.md)
  file(STRINGS ${SOURCE}/${page} lines)
  set(number 0)
  foreach(line IN LISTS lines)
    math(EXPR number "${number} + 1")
    string(REGEX MATCHALL "[0-9]+\\.[0-9]+%" percents "${line}")
    string(REGEX MATCHALL "[0-9]+\\.[0-9]+ bits per character" bits "${line}")
    list(APPEND percents ${bits})
    if(NOT percents)
      continue()
    endif()
    string(REGEX MATCHALL "[0-9]+(\\.[0-9]+)? (s|min)([^a-z]|$)" durations "${line}")
    foreach(figure IN LISTS percents durations)
      string(REGEX REPLACE "(s|min)[^a-z]$" "\\1" figure "${figure}")  # the character after a unit
      string(FIND "${measured}" "${figure}" at)
      if(at EQUAL -1)
        string(APPEND problems "\n  ${page}:${number}: '${figure}' is not in docs/cli.md's Measured table")
      endif()
    endforeach()
  endforeach()
endforeach()
if(problems)
  message(FATAL_ERROR "figures that drifted from the measurement:${problems}\n"
                      "Measure again and update docs/cli.md's table, or quote it.")
endif()
