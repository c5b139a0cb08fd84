# The build's dependency check (cmake/check_includes.cmake) passes on the tree
# as it is and fails for each forbidden include planted in it, naming the file
# and the header. Run by ctest as
#   cmake -DSOURCE_DIR=<root> -DWORK_DIR=<scratch dir> -P dependency_rules_test.cmake
cmake_minimum_required(VERSION 3.22)
set(check ${SOURCE_DIR}/cmake/check_includes.cmake)
file(MAKE_DIRECTORY ${WORK_DIR})

set(failures 0)
function(expect_check planted_as line expected)
  set(args "")
  if(planted_as)
    file(WRITE ${WORK_DIR}/planted.cpp "// planted by tests/dependency\n${line}\nint planted();\n")
    set(args -DPLANT_FILE=${WORK_DIR}/planted.cpp -DPLANT_AS=${planted_as})
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${SOURCE_DIR} ${args} -P ${check}
                  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE out)
  string(REGEX REPLACE "[ \t\n]+" " " out "${out}")
  if(expected STREQUAL "pass")
    set(good FALSE)
    if(status EQUAL 0)
      set(good TRUE)
    endif()
  else()
    set(good FALSE)
    string(FIND "${out}" "${expected}" at)
    if(NOT status EQUAL 0 AND at GREATER_EQUAL 0)
      set(good TRUE)
    endif()
  endif()
  if(good)
    message(STATUS "ok: ${planted_as} ${line}")
  else()
    message(SEND_ERROR "expected '${expected}' for '${line}' in ${planted_as}; exit ${status}: ${out}")
  endif()
endfunction()

# The real tree passes.
expect_check("" "" pass)
# A header of the folder's own and an allowed folder's pass.
expect_check(compiler/binder/planted.cpp "#include \"compiler/catalog/catalog.h\"" pass)
expect_check(repl/planted.cpp "#include \"compiler/common/text.h\"" pass)
# Forbidden includes fail, each naming the file and the header (as the check
# names it: <system> headers with their library).
function(expect_forbidden planted_as line header)
  expect_check(${planted_as} "${line}" "${planted_as}: includes ${header}")
endfunction()
expect_forbidden(compiler/binder/planted.cpp "#include <pqxx/pqxx>" "<pqxx/pqxx> (pqxx)")
expect_forbidden(compiler/catalog/planted.cpp "#include \"DPQLParser.h\"" "<DPQLParser.h> (antlr)")
expect_forbidden(compiler/planner/planted.cpp "#include \"runtime/engine.h\"" runtime/engine.h)
expect_forbidden(compiler/common/planted.h "#include \"compiler/ast/ast.h\"" compiler/ast/ast.h)
expect_forbidden(runtime/noise/planted.cpp "  #  include \"server/router.h\"" server/router.h)
expect_forbidden(runtime/ledger/planted.cpp "#include \"runtime/executor/executor.h\"" runtime/executor/executor.h)
expect_forbidden(runtime/executor/planted.cpp "#include <boost/beast/http.hpp>" "<boost/beast/http.hpp> (beast)")
expect_forbidden(repl/planted.cpp "#include \"compiler/common/error.h\"" compiler/common/error.h)
expect_forbidden(repl/planted.cpp "#include \"runtime/engine.h\"" runtime/engine.h)
expect_check(runtime/unlisted/planted.cpp "#include <string>"
             "folder runtime/unlisted has no entry")
