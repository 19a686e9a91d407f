"""Offline parsers for the rule languages, and the fields each query reads.

- EQL: Elastic's `eql` library with Elasticsearch syntax and `runs` (the same parser detection-rules uses).
- ES|QL: the ANTLR parser generated from Elasticsearch's own ES|QL grammar (`esql-parser`, grammar of 9.1.3).
- Lucene (the `query` of threshold and new_terms rules): `luqum`. No parser of Kibana's KQL exists on PyPI,
  so those rules use `language: lucene`, which Kibana accepts for both rule types.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import eql
from antlr4 import CommonTokenStream, InputStream, ParserRuleContext
from antlr4.error.ErrorListener import ErrorListener
from esql_parser.EsqlBaseLexer import EsqlBaseLexer
from esql_parser.EsqlBaseParser import EsqlBaseParser
from luqum.exceptions import ParseError
from luqum.parser import parser as lucene_parser
from luqum.tree import SearchField


class QuerySyntaxError(ValueError):
    """A query that its language's parser rejects."""


def parse_eql(query: str) -> Any:
    """The eql library's AST (Elasticsearch syntax, `with runs=N` allowed)."""
    config = eql.ParserConfig(eql.parser.elasticsearch_syntax, eql.parser.allow_runs)
    try:
        with config:
            return eql.parse_query(query)
    except eql.EqlError as err:
        raise QuerySyntaxError(str(err)) from None


def eql_fields(query: str) -> list[str]:
    tree = parse_eql(query)
    return sorted({node.render() for node in tree if isinstance(node, eql.ast.Field)})


class _Raise(ErrorListener):
    def syntaxError(self, recognizer: Any, offending: Any, line: int, column: int, msg: str, e: Any) -> None:
        raise QuerySyntaxError(f"line {line}, column {column + 1}: {msg}")


@lru_cache(maxsize=128)
def parse_esql(query: str) -> ParserRuleContext:
    """The ANTLR parse tree of an ES|QL query; any syntax error raises. Cached by text (callers only read it):
    the first parse in a process takes seconds, the ANTLR runtime building its prediction tables, the rest
    milliseconds, but the fields, sources and compiled plan of one query would each parse it again."""
    lexer = EsqlBaseLexer(InputStream(query))
    lexer.removeErrorListeners()
    lexer.addErrorListener(_Raise())
    parser = EsqlBaseParser(CommonTokenStream(lexer))
    parser.removeErrorListeners()
    parser.addErrorListener(_Raise())
    return parser.singleStatement()


def _walk(node: Any) -> list[Any]:
    out = [node]
    for child in getattr(node, "children", None) or []:
        out.extend(_walk(child))
    return out


def esql_fields(query: str) -> list[str]:
    """Fields an ES|QL query reads from its source indices (columns it defines itself are left out)."""
    nodes = _walk(parse_esql(query))
    defined = {n.qualifiedName().getText() for n in nodes
               if isinstance(n, EsqlBaseParser.FieldContext) and n.ASSIGN() is not None}
    names = {n.getText() for n in nodes if isinstance(n, EsqlBaseParser.QualifiedNameContext)}
    return sorted(names - defined)


def esql_sources(query: str) -> list[str]:
    nodes = _walk(parse_esql(query))
    return [n.getText() for n in nodes if isinstance(n, EsqlBaseParser.IndexPatternContext)]


def parse_lucene(query: str) -> Any:
    try:
        return lucene_parser.parse(query)
    except ParseError as err:
        raise QuerySyntaxError(str(err)) from None


def lucene_fields(query: str) -> list[str]:
    return sorted({n.name for n in _lucene_nodes(parse_lucene(query)) if isinstance(n, SearchField)})


def _lucene_nodes(node: Any) -> list[Any]:
    out = [node]
    for child in node.children:
        out.extend(_lucene_nodes(child))
    return out


PARSERS = {"eql": parse_eql, "esql": parse_esql, "lucene": parse_lucene}
FIELDS = {"eql": eql_fields, "esql": esql_fields, "lucene": lucene_fields}


def check(language: str, query: str) -> None:
    PARSERS[language](query)


def fields(language: str, query: str) -> list[str]:
    return FIELDS[language](query)
