// DPQL v1 — the only grammar source (the language it accepts: docs/LANGUAGE.md).
//
// Built with the antlr4 4.7.2 tool, which has no caseInsensitive option:
// keywords are spelled with one-letter fragments (S E L E C T) instead, and
// their tokens carry a K_ prefix (NULL, TRUE, FALSE would clash with C macros
// in the generated C++).
// The grammar is kept LL-friendly: compiler/parser parses with SLL prediction
// first and retries with full LL only when SLL fails.
//
// Error tokens (unterminated strings, comments and quoted identifiers, stray
// characters) are real tokens so that the lexer never reports anything itself:
// compiler/parser turns them into messages before parsing starts.
grammar DPQL;

// ---------------------------------------------------------------- statements

// Empty statements (";;") are allowed; the last ';' is optional.
script
  : SEMI* statement ( SEMI+ statement )* SEMI* EOF
  ;

statement
  : selectStatement
  | explainStatement
  | showStatement
  | describeStatement
  ;

explainStatement : K_EXPLAIN selectStatement ;
showStatement : K_SHOW ( K_TABLES | K_BUDGET ) ;
describeStatement : K_DESCRIBE tableName ;

// ------------------------------------------------------------------- SELECT

selectStatement
  : K_SELECT selectItem ( COMMA selectItem )*
    fromClause
    joinClause*
    whereClause?
    groupByClause?
    havingClause?
    orderByClause?
    limitClause?
    privacyClause?
  ;

selectItem
  : STAR
  | expression ( K_AS? alias )?
  ;

fromClause : K_FROM tableRef ;

// A parenthesised SELECT parses so that it can be refused with a clear
// message (DPQL has no subqueries) rather than a syntax error.
tableRef
  : tableName ( K_AS? alias )?
  | LPAREN selectStatement RPAREN ( K_AS? alias )?
  ;

joinClause : joinType? K_JOIN tableRef K_ON expression ;

// RIGHT, FULL and CROSS are recognised only to explain that they are not
// supported (and so that they are never taken for table aliases).
joinType
  : K_INNER
  | K_LEFT K_OUTER?
  | K_RIGHT K_OUTER?
  | K_FULL K_OUTER?
  | K_CROSS
  ;

whereClause : K_WHERE expression ;
groupByClause : K_GROUP K_BY expression ( COMMA expression )* ;
havingClause : K_HAVING expression ;
orderByClause : K_ORDER K_BY orderItem ( COMMA orderItem )* ;
orderItem : expression ( K_ASC | K_DESC )? ;
limitClause : K_LIMIT INTEGER ;

privacyClause : K_WITH K_PRIVACY LPAREN privacyOption ( COMMA privacyOption )* RPAREN ;
privacyOption : identifier EQ privacyValue ;
privacyValue
  : ( MINUS | PLUS )? ( INTEGER | DECIMAL )
  | identifier
  ;

tableName : identifier ;
alias : identifier ;

// --------------------------------------------------------------- expressions
// One rule per precedence level, loops instead of left recursion: the parse
// tree stays flat for long AND/OR chains.

expression : orExpression ;
orExpression : andExpression ( K_OR andExpression )* ;
andExpression : notExpression ( K_AND notExpression )* ;
notExpression
  : K_NOT notExpression
  | predicate
  ;

predicate
  : additiveExpression
    ( comparisonOperator additiveExpression
    | K_NOT? K_BETWEEN additiveExpression K_AND additiveExpression
    | K_NOT? K_IN LPAREN inList RPAREN
    | K_NOT? K_LIKE additiveExpression
    | K_IS K_NOT? K_NULL
    )?
  ;

inList
  : selectStatement
  | expression ( COMMA expression )*
  ;

comparisonOperator : EQ | NEQ | LT | LTE | GT | GTE ;

additiveExpression : multiplicativeExpression ( ( PLUS | MINUS ) multiplicativeExpression )* ;
multiplicativeExpression : unaryExpression ( ( STAR | SLASH ) unaryExpression )* ;

unaryExpression
  : ( MINUS | PLUS ) unaryExpression
  | primaryExpression
  ;

// Subqueries (parenthesised SELECTs, EXISTS) parse so that they can be
// refused with one message (DPQL has no subqueries) rather than a syntax error.
primaryExpression
  : literal
  | extractCall
  | functionCall
  | columnRef
  | LPAREN selectStatement RPAREN
  | K_EXISTS LPAREN selectStatement RPAREN
  | LPAREN expression RPAREN
  ;

functionCall
  : identifier LPAREN ( STAR | K_DISTINCT? expression ( COMMA expression )* )? RPAREN
  ;

extractCall : K_EXTRACT LPAREN identifier K_FROM expression RPAREN ;

columnRef : identifier ( DOT identifier )? ;

literal
  : INTEGER
  | DECIMAL
  | STRING
  | K_DATE STRING
  | K_TRUE
  | K_FALSE
  | K_NULL
  ;

// Words that are keywords only where they are expected; elsewhere they are
// ordinary names (a column may be called "date" or "budget").
identifier
  : IDENTIFIER
  | QUOTED_IDENTIFIER
  | nonReserved
  ;

nonReserved : K_TABLES | K_BUDGET | K_PRIVACY | K_DATE ;

// -------------------------------------------------------------------- tokens
// All keywords are reserved (names only in "double quotes") except those of
// nonReserved. Some are SQL that DPQL does not support (CASE ... END, OVER,
// PARTITION, WINDOW, UNION, INTERSECT, EXCEPT, OFFSET, NATURAL, USING): no
// rule uses them, so the parser stops at them and compiler/parser explains
// what to write instead, and they are never taken for names or aliases.

K_AND : A N D ;
K_AS : A S ;
K_ASC : A S C ;
K_BETWEEN : B E T W E E N ;
K_BUDGET : B U D G E T ;
K_BY : B Y ;
K_CASE : C A S E ;
K_CROSS : C R O S S ;
K_DATE : D A T E ;
K_DESC : D E S C ;
K_DESCRIBE : D E S C R I B E ;
K_DISTINCT : D I S T I N C T ;
K_ELSE : E L S E ;
K_END : E N D ;
K_EXCEPT : E X C E P T ;
K_EXISTS : E X I S T S ;
K_EXPLAIN : E X P L A I N ;
K_EXTRACT : E X T R A C T ;
K_FALSE : F A L S E ;
K_FROM : F R O M ;
K_FULL : F U L L ;
K_GROUP : G R O U P ;
K_HAVING : H A V I N G ;
K_IN : I N ;
K_INNER : I N N E R ;
K_INTERSECT : I N T E R S E C T ;
K_IS : I S ;
K_JOIN : J O I N ;
K_LEFT : L E F T ;
K_LIKE : L I K E ;
K_LIMIT : L I M I T ;
K_NATURAL : N A T U R A L ;
K_NOT : N O T ;
K_NULL : N U L L ;
K_OFFSET : O F F S E T ;
K_ON : O N ;
K_OR : O R ;
K_ORDER : O R D E R ;
K_OUTER : O U T E R ;
K_OVER : O V E R ;
K_PARTITION : P A R T I T I O N ;
K_PRIVACY : P R I V A C Y ;
K_RIGHT : R I G H T ;
K_SELECT : S E L E C T ;
K_SHOW : S H O W ;
K_TABLES : T A B L E S ;
K_THEN : T H E N ;
K_TRUE : T R U E ;
K_UNION : U N I O N ;
K_USING : U S I N G ;
K_WHEN : W H E N ;
K_WHERE : W H E R E ;
K_WINDOW : W I N D O W ;
K_WITH : W I T H ;

EQ : '=' ;
NEQ : '<>' | '!=' ;
LTE : '<=' ;
GTE : '>=' ;
LT : '<' ;
GT : '>' ;
PLUS : '+' ;
MINUS : '-' ;
STAR : '*' ;
SLASH : '/' ;
LPAREN : '(' ;
RPAREN : ')' ;
COMMA : ',' ;
DOT : '.' ;
SEMI : ';' ;
// SQL's string concatenation: no rule uses it; refused with a message.
CONCAT : '||' ;

INTEGER : DIGIT+ ;
DECIMAL
  : DIGIT+ '.' DIGIT* EXPONENT?
  | '.' DIGIT+ EXPONENT?
  | DIGIT+ EXPONENT
  ;

// '' inside a string is one quote. A string that never closes runs to the end
// of the input and becomes UNTERMINATED_STRING (the longest match wins).
STRING : '\'' ( ~'\'' | '\'\'' )* '\'' ;
UNTERMINATED_STRING : '\'' ( ~'\'' | '\'\'' )* ;

IDENTIFIER : ( LETTER | '_' ) ( LETTER | DIGIT | '_' | '$' )* ;
QUOTED_IDENTIFIER : '"' ( ~'"' | '""' )* '"' ;
UNTERMINATED_QUOTED_IDENTIFIER : '"' ( ~'"' | '""' )* ;

LINE_COMMENT : '--' ~[\r\n]* -> skip ;
BLOCK_COMMENT : '/*' .*? '*/' -> skip ;
// Cannot contain "*/", so it only wins when the comment never closes.
UNTERMINATED_BLOCK_COMMENT : '/*' ( ~'*' | '*'+ ~[*/] )* '*'* EOF ;
WHITESPACE : [ \t\r\n\f\u000B]+ -> skip ;

// Anything else is one error token, reported as "unexpected character".
ERROR_CHARACTER : . ;

fragment DIGIT : [0-9] ;
fragment EXPONENT : [eE] [+-]? DIGIT+ ;
fragment LETTER : [\p{L}] ;
fragment A : [aA] ;
fragment B : [bB] ;
fragment C : [cC] ;
fragment D : [dD] ;
fragment E : [eE] ;
fragment F : [fF] ;
fragment G : [gG] ;
fragment H : [hH] ;
fragment I : [iI] ;
fragment J : [jJ] ;
fragment K : [kK] ;
fragment L : [lL] ;
fragment M : [mM] ;
fragment N : [nN] ;
fragment O : [oO] ;
fragment P : [pP] ;
fragment Q : [qQ] ;
fragment R : [rR] ;
fragment S : [sS] ;
fragment T : [tT] ;
fragment U : [uU] ;
fragment V : [vV] ;
fragment W : [wW] ;
fragment X : [xX] ;
fragment Y : [yY] ;
fragment Z : [zZ] ;
