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
# Forbidden includes fail, each naming the file and the header.
expect_check(compiler/binder/planted.cpp "#include <pqxx/pqxx>"
             "compiler/binder/planted.cpp: includes <pqxx/pqxx> (pqxx)")
expect_check(compiler/catalog/planted.cpp "#include \"DPQLParser.h\""
             "compiler/catalog/planted.cpp: includes <DPQLParser.h> (antlr)")
expect_check(compiler/planner/planted.cpp "#include \"runtime/engine.h\""
             "compiler/planner/planted.cpp: includes runtime/engine.h")
expect_check(compiler/common/planted.h "#include \"compiler/ast/ast.h\""
             "compiler/common/planted.h: includes compiler/ast/ast.h")
expect_check(runtime/noise/planted.cpp "  #  include \"server/router.h\""
             "runtime/noise/planted.cpp: includes server/router.h")
expect_check(runtime/ledger/planted.cpp "#include \"runtime/executor/executor.h\""
             "runtime/ledger/planted.cpp: includes runtime/executor/executor.h")
expect_check(runtime/executor/planted.cpp "#include <boost/beast/http.hpp>"
             "runtime/executor/planted.cpp: includes <boost/beast/http.hpp> (beast)")
expect_check(repl/planted.cpp "#include \"compiler/common/error.h\""
             "repl/planted.cpp: includes compiler/common/error.h")
expect_check(repl/planted.cpp "#include \"runtime/engine.h\""
             "repl/planted.cpp: includes runtime/engine.h")
expect_check(runtime/unlisted/planted.cpp "#include <string>"
             "folder runtime/unlisted has no entry")
