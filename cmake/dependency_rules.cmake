# Who may include whom: the folder READMEs' dependency rules as one table, checked
# on every build by cmake/check_includes.cmake (target dpql_check_includes) and
# proven by the test DependencyRules (tests/dependency/).
#
# One entry per source folder: "FOLDER = PROJECT... | THIRD-PARTY...".
#   PROJECT      a folder ("compiler/common"), a folder and everything below it
#                ("compiler/*"), or one header ("compiler/common/text.h"). A
#                file may always include headers of its own folder.
#   THIRD-PARTY  tags from DPQL_THIRD_PARTY below. Headers that match no tag
#                (the standard library, POSIX, Boost.Multiprecision) are free.
# A folder under compiler/, runtime/, server/ or repl/ with no entry fails the
# check: a new folder states its rules here and in its README.
# The check reads a file's own #include lines; what a header brings in with it
# is the linked library's business (PRIVATE links in the CMakeLists).

set(DPQL_DEPENDENCY_RULES
  # compiler/: upward only to itself; never runtime/ or server/.
  "compiler/common   =                                                | yaml"
  "compiler/ast      = compiler/common                                | "
  "compiler/parser   = compiler/ast compiler/common                   | antlr"
  "compiler/catalog  = compiler/common                                | yaml"
  "compiler/binder   = compiler/ast compiler/catalog compiler/common  | "
  "compiler/planner  = compiler/binder compiler/ast compiler/catalog compiler/common | "
  "compiler          = compiler/*                                     | "
  # runtime/: the compiler below it, never server/. Only pg, executor, ledger
  # and cache see libpqxx.
  "runtime/random    = compiler/common                                | "
  "runtime/crypto    = compiler/common                                | openssl"
  "runtime/budget    = compiler/common                                | "
  "runtime/noise     = compiler/common runtime/random                 | "
  "runtime/pg        = compiler/common compiler/catalog runtime/budget runtime/crypto | pqxx"
  "runtime/release   = compiler/* runtime/noise runtime/random        | "
  "runtime/executor  = compiler/* runtime/pg runtime/release          | pqxx"
  "runtime/cache     = compiler/* runtime/pg runtime/release runtime/crypto | pqxx json"
  "runtime/ledger    = compiler/common runtime/random runtime/budget runtime/crypto runtime/pg runtime/cache/schema.h | pqxx openssl"
  "runtime           = compiler/* runtime/*                           | "
  # server/: the only folder that sees Beast.
  "server            = compiler/* runtime/* | beast asio openssl json yaml"
  # repl/: the client; of the rest of the tree only the dependency-free text
  # utilities (library dpql_text).
  "repl              = compiler/common/text.h compiler/common/flags.h | asio openssl json libedit"
)

# Includes that break the table, each until a named change lands:
# "FILE -> HEADER". Keep this list empty.
set(DPQL_DEPENDENCY_EXCEPTIONS)

# Third-party tags: a regular expression on the included name.
set(DPQL_THIRD_PARTY
  "antlr   = ^(antlr4-runtime[./]|DPQLLexer\\.h|DPQLParser\\.h|antlr4/)"
  "pqxx    = ^pqxx/"
  "beast   = ^boost/beast"
  "asio    = ^boost/asio"
  "yaml    = ^yaml-cpp/"
  "json    = ^nlohmann/"
  "openssl = ^openssl/"
  "libedit = ^(editline/|histedit\\.h)"
)

# The top-level folders whose sources are checked, and the folders an include
# is resolved against (anything else is third-party or system).
set(DPQL_CHECKED_ROOTS compiler runtime server repl)
set(DPQL_PROJECT_ROOTS compiler runtime server repl grammar tests bench fuzz)
