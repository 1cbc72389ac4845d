"""Lint a pyscript for names that work in plain Python but raise NameError on Damaris.

Upstream Damaris runs a pyscript as ``exec(code, G, L)``: ``G`` is the server's ``__main__``
namespace and ``L`` a per-script dict holding ``DamarisData``. Everything the script binds at
its top level (imports, functions, classes, constants) lands in ``L``, which top-level code
sees but the script's functions, lambdas, class bodies and comprehensions do not: their
globals are ``G`` and ``L`` is no closure scope. So this script, fine under ``python``, fails
on Damaris::

    import os
from stat import S_ISREG

    def main(data):
        print(os.getcwd())   # NameError: name 'os' is not defined

    main(DamarisData)

Usage::

    damaris-ref check-script analysis.py [more.py ...]

prints one ``file:line:col: message`` line per finding (first use of a name per function;
columns count from 1), then a summary; it exits 1 if there were findings, 0 if none and 2 if
a file cannot be analysed, so a CI job can run it over every pyscript. Finding kinds:

* ``top-level-name``: a name bound only at the script's top level, used inside a function
  (or lambda, class body, module-level comprehension); the fix is to import/define it there
  or pass it as an argument.
* ``damarisdata-in-function``: ``DamarisData`` read inside a function; pass it as an
  argument instead (``main(DamarisData)``).
* ``damarisdata-declared-global``: ``DamarisData`` read at the top level of a script where a
  function declares it ``global`` (and nothing stores it there): CPython then reads it from
  ``G`` at the top level too, and Damaris puts it in ``L``.
* ``syntax-error``: the script does not compile (a coding cookie Python refuses included).

A file that cannot be analysed raises :class:`~damaris_ref.core.errors.ScriptError` with the
reason: it is not a regular file (a FIFO would block, ``/dev/zero`` never ends), is larger than
:data:`MAX_SCRIPT_BYTES`, cannot be read or decoded, or Python itself cannot compile it (too
deeply nested). Syntax nested as deeply as Python compiles is analysed, on a thread with room
for it.

The analysis is static (``ast``) and mirrors CPython's scoping rules: parameters, local
assignments and imports, closures over enclosing functions, builtins and names declared
``global`` anywhere in the script (those are stored in ``G``) are fine. Names bound nowhere
are not reported (that is a plain NameError any linter finds), nor are names brought in by
``from x import *``, and nor is a top-level name that shadows a builtin.
"""

from __future__ import annotations

import ast
import builtins
import importlib.util
import os
import stat
import sys
import threading
import tokenize
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from damaris_ref.core.errors import ScriptError
from damaris_ref.core.file_kinds import file_kind

__all__ = ["MAX_SCRIPT_BYTES", "CannotAnalyse", "Finding", "check_file", "check_source"]

#: a larger file is refused unread: pyscripts are a few kilobytes
MAX_SCRIPT_BYTES = 16 * 2**20
#: the recursion limit of the analysis, relative to the one compile() ran under: CPython's
#: compiler refuses syntax nested deeper than 3 levels per unit of the limit, and the scope
#: walk takes at most 3 frames per level
_ANALYSIS_DEPTH_FACTOR = 10
#: the stack of the analysis thread (address space; only the pages a deep walk touches are used)
_ANALYSIS_STACK_BYTES = 256 * 2**20
_T = TypeVar("_T")

TOP_LEVEL_NAME = "top-level-name"
DAMARISDATA_IN_FUNCTION = "damarisdata-in-function"
DAMARISDATA_DECLARED_GLOBAL = "damarisdata-declared-global"
SYNTAX_ERROR = "syntax-error"

_BUILTINS = frozenset(dir(builtins))
_COMPREHENSION_NAMES = {
    ast.ListComp: "<listcomp>",
    ast.SetComp: "<setcomp>",
    ast.DictComp: "<dictcomp>",
    ast.GeneratorExp: "<genexpr>",
}


#: the earlier name of this module's error: a deprecated alias, kept for one release
CannotAnalyse = ScriptError


@dataclass(frozen=True)
class Finding:
    """One problem in a script, at a 1-based line and column."""

    filename: str
    line: int
    col: int
    name: str
    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.filename}:{self.line}:{self.col}: {self.message}"


@dataclass(eq=False)
class _Scope:
    """One Python scope: what it binds and declares, and the names it reads."""

    kind: str  # "module", "function", "lambda", "class" or "comprehension"
    name: str
    parent: _Scope | None
    bound: set[str] = field(default_factory=set)
    global_decl: set[str] = field(default_factory=set)
    nonlocal_decl: set[str] = field(default_factory=set)
    uses: list[ast.Name] = field(default_factory=list)

    @property
    def qualname(self) -> str:
        """Dotted name through enclosing functions and classes, e.g. ``C.method``."""
        parts = []
        scope: _Scope | None = self
        while scope is not None:
            if scope.kind in ("function", "class"):
                parts.append(scope.name)
            scope = scope.parent
        return ".".join(reversed(parts))


class _ScopeBuilder(ast.NodeVisitor):
    """Walk a module once, building its tree of scopes the way CPython's symtable does."""

    def __init__(self, future_annotations: bool) -> None:
        self.module = _Scope("module", "<module>", None)
        self.scopes: list[_Scope] = [self.module]
        #: kind of every top-level binding: "import", or "defined" for anything else
        self.top_kinds: dict[str, str] = {}
        #: names declared global anywhere; CPython then stores them in G even at top level
        self.declared_global: set[str] = set()
        self._future_annotations = future_annotations
        self._current = self.module

    def _bind(self, name: str, how: str = "defined") -> None:
        self._current.bound.add(name)
        if self._current is self.module and self.top_kinds.get(name) != "import":
            self.top_kinds[name] = how

    def _enter(self, kind: str, name: str) -> _Scope:
        scope = _Scope(kind, name, self._current)
        self.scopes.append(scope)
        self._current = scope
        return scope

    def _leave(self, scope: _Scope) -> None:
        assert scope.parent is not None
        self._current = scope.parent

    def _visit_all(self, nodes: Sequence[ast.expr | None]) -> None:
        for node in nodes:
            if node is not None:
                self.visit(node)

    def _visit_annotation(self, node: ast.expr | None) -> None:
        if node is not None and not self._future_annotations:
            self.visit(node)

    def _visit_arguments(self, args: ast.arguments, annotations: bool) -> None:
        """Defaults and annotations, evaluated in the enclosing scope at ``def`` time."""
        self._visit_all(args.defaults)
        self._visit_all(args.kw_defaults)
        if annotations:
            for arg in _all_args(args):
                self._visit_annotation(arg.annotation)

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._visit_all(node.decorator_list)
        self._visit_arguments(node.args, annotations=True)
        self._visit_annotation(node.returns)
        self._bind(node.name)
        scope = self._enter("function", node.name)
        scope.bound.update(arg.arg for arg in _all_args(node.args))
        for statement in node.body:
            self.visit(statement)
        self._leave(scope)

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_arguments(node.args, annotations=False)
        scope = self._enter("lambda", "<lambda>")
        scope.bound.update(arg.arg for arg in _all_args(node.args))
        self.visit(node.body)
        self._leave(scope)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._visit_all(node.decorator_list)
        self._visit_all(node.bases)
        for keyword in node.keywords:
            self.visit(keyword.value)
        self._bind(node.name)
        scope = self._enter("class", node.name)
        for statement in node.body:
            self.visit(statement)
        self._leave(scope)

    def _visit_comprehension(
        self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
    ) -> None:
        # the first iterable is evaluated in the enclosing scope, the rest in the new one
        self.visit(node.generators[0].iter)
        scope = self._enter("comprehension", _COMPREHENSION_NAMES[type(node)])
        for index, generator in enumerate(node.generators):
            self.visit(generator.target)
            if index:
                self.visit(generator.iter)
            self._visit_all(generator.ifs)
        if isinstance(node, ast.DictComp):
            self.visit(node.key)
            self.visit(node.value)
        else:
            self.visit(node.elt)
        self._leave(scope)

    visit_ListComp = _visit_comprehension
    visit_SetComp = _visit_comprehension
    visit_GeneratorExp = _visit_comprehension
    visit_DictComp = _visit_comprehension

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        """``:=`` binds in the nearest enclosing non-comprehension scope."""
        self.visit(node.value)
        name = node.target.id
        scope = self._current
        while scope.kind == "comprehension":
            assert scope.parent is not None
            # at module level CPython declares the target global, in a function nonlocal
            home = scope.parent
            while home.kind == "comprehension":
                assert home.parent is not None
                home = home.parent
            if home is self.module:
                scope.global_decl.add(name)
                self.declared_global.add(name)
            else:
                scope.nonlocal_decl.add(name)
            scope = scope.parent
        saved, self._current = self._current, scope
        self._bind(name)
        self._current = saved

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self._current.uses.append(node)
        else:
            self._bind(node.id)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._bind(alias.asname or alias.name.partition(".")[0], "import")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name != "*":
                self._bind(alias.asname or alias.name, "import")

    def visit_Global(self, node: ast.Global) -> None:
        self._current.global_decl.update(node.names)
        self.declared_global.update(node.names)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self._current.nonlocal_decl.update(node.names)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.visit(node.target)
        # annotations of local variables are never evaluated; module and class ones are
        if self._current.kind in ("module", "class"):
            self._visit_annotation(node.annotation)
        if node.value is not None:
            self.visit(node.value)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self._bind(node.name)
        self.generic_visit(node)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.name:
            self._bind(node.name)
        self.generic_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self._bind(node.name)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        if node.rest:
            self._bind(node.rest)
        self.generic_visit(node)


def _all_args(args: ast.arguments) -> list[ast.arg]:
    extra = [arg for arg in (args.vararg, args.kwarg) if arg is not None]
    return [*args.posonlyargs, *args.args, *args.kwonlyargs, *extra]


def _resolves_to_globals(scope: _Scope, name: str) -> bool:
    """True if ``name`` read in ``scope`` is looked up in the globals (``G`` on Damaris)."""
    if name in scope.global_decl:
        return True
    if name in scope.nonlocal_decl or name in scope.bound:
        return False
    enclosing = scope.parent
    while enclosing is not None and enclosing.kind != "module":
        if enclosing.kind != "class":  # class bodies are no closure scope for what they hold
            if name in enclosing.global_decl:
                return True
            if name in enclosing.bound or name in enclosing.nonlocal_decl:
                return False
        enclosing = enclosing.parent
    return True


def _stored_in_globals(builder: _ScopeBuilder, name: str) -> bool:
    """True if some binding of ``name`` stores it in the globals (``G`` on Damaris): one in a
    scope that declares it ``global``, or at the top level once any scope does (CPython then
    compiles every top-level store of it as a global one). A function's own local of that
    name stores nothing there, even where another function declares it global."""
    return any(
        name in scope.bound
        and (
            name in scope.global_decl
            or (scope is builder.module and name in builder.declared_global)
        )
        for scope in builder.scopes
    )


def _owner(scope: _Scope) -> _Scope:
    """Where the fix goes: the nearest def or class, else the outermost lambda/comprehension."""
    candidate = scope
    current: _Scope | None = scope
    while current is not None and current.kind != "module":
        if current.kind in ("function", "class"):
            return current
        candidate = current
        current = current.parent
    return candidate


def _where(owner: _Scope) -> str:
    if owner.kind == "function":
        return f"function '{owner.qualname}'"
    if owner.kind == "class":
        return f"the body of class '{owner.qualname}'"
    if owner.kind == "lambda":
        return "a lambda at the script's top level"
    return f"the comprehension '{owner.name}' at the script's top level"


def _name_message(name: str, how: str, owner: _Scope) -> str:
    verb = "imported" if how == "import" else "defined"
    action = "import" if how == "import" else "define"
    if owner.kind == "function":
        reason = "on Damaris the script's top-level names are not visible inside its functions"
        if how == "import":
            fix = f"import it inside '{owner.qualname}'"
        else:
            fix = f"pass it as an argument or define it inside '{owner.qualname}'"
    else:
        reason = (
            "on Damaris the script's top-level names are not visible inside its functions, "
            "lambdas, class bodies or comprehensions"
        )
        if owner.kind == "class":
            fix = f"{action} it inside the class body, or pass it in from a function"
        elif owner.kind == "lambda":
            fix = f"bind it as a default argument (lambda {name}={name}: ...)"
        else:
            fix = (
                f"use a plain for loop instead, or move the code into a function that {action}s it"
            )
    return (
        f"name '{name}' is {verb} at the script's top level but used inside {_where(owner)}; "
        f"{reason}: {fix}"
    )


def _damarisdata_message(owner: _Scope) -> str:
    if owner.kind == "function":
        fix = "pass it as an argument (main(DamarisData))"
    elif owner.kind == "lambda":
        fix = "bind it as a default argument (lambda DamarisData=DamarisData: ...)"
    else:
        fix = "read it at the top level or pass it as an argument (main(DamarisData))"
    return (
        f"DamarisData is read inside {_where(owner)}; "
        f"on Damaris it is only visible at the script's top level: {fix}"
    )


def _declared_global_message(scopes: list[_Scope]) -> str:
    declaring = next(s for s in scopes if "DamarisData" in s.global_decl)
    where = f"'{declaring.qualname}'" if declaring.qualname else f"a {declaring.kind}"
    return (
        f"DamarisData is read at the script's top level, but {where} declares it global, so "
        "the top level reads it from the globals too, where Damaris does not put it (it is "
        "among the script's local names): drop that global declaration"
    )


def _has_future_annotations(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.ImportFrom)
        and node.module == "__future__"
        and any(alias.name == "annotations" for alias in node.names)
        for node in tree.body
    )


def check_source(source: str, filename: str) -> list[Finding]:
    """Return the findings for one script's ``source``, ordered by position.

    Raises :class:`~damaris_ref.core.errors.ScriptError` when Python itself cannot compile
    ``source`` for want of memory or depth (it could not run it either).
    """
    try:
        compile(source, filename, "exec", dont_inherit=True)  # also the errors ast misses
        tree = ast.parse(source, filename)
    except (SyntaxError, ValueError) as error:
        line = getattr(error, "lineno", None) or 1
        col = getattr(error, "offset", None) or 1
        message = getattr(error, "msg", None) or str(error)
        return [Finding(filename, line, col, "", SYNTAX_ERROR, f"syntax error: {message}")]
    except (MemoryError, RecursionError) as error:
        raise ScriptError(
            f"Python cannot compile it ({type(error).__name__}: nested too deeply)"
        ) from None
    return _with_room_to_recurse(lambda: _findings(tree, filename))


def _with_room_to_recurse(work: Callable[[], _T]) -> _T:
    """Run ``work`` on a thread with a large stack and a recursion limit raised for it.

    A tree compile() accepted may nest a few thousand levels (a 500-term sum, 600 elifs), more
    than the default limit lets the recursive scope walk follow.
    """
    outcome: list[_T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as error:  # handed to the caller's thread
            failure.append(error)

    limit = sys.getrecursionlimit()
    stack = threading.stack_size(_ANALYSIS_STACK_BYTES)
    sys.setrecursionlimit(limit * _ANALYSIS_DEPTH_FACTOR)
    try:
        thread = threading.Thread(target=run, name="check-script analysis")
        thread.start()
        thread.join()
    finally:
        sys.setrecursionlimit(limit)
        threading.stack_size(stack)
    if failure:
        if isinstance(failure[0], RecursionError | MemoryError):
            raise ScriptError(f"nested too deeply to analyse ({type(failure[0]).__name__})")
        raise failure[0]
    return outcome[0]


def _findings(tree: ast.Module, filename: str) -> list[Finding]:
    """The findings of a compiled script's tree (recursive: see :func:`_with_room_to_recurse`)."""
    builder = _ScopeBuilder(_has_future_annotations(tree))
    builder.visit(tree)
    damarisdata_in_g = _stored_in_globals(builder, "DamarisData")
    candidates = [
        (use, scope)
        for scope in builder.scopes
        for use in scope.uses
        if _resolves_to_globals(scope, use.id)
        # the top level reads its names from L, except those declared global anywhere
        and (scope is not builder.module or use.id in builder.declared_global)
    ]
    candidates.sort(key=lambda candidate: (candidate[0].lineno, candidate[0].col_offset))
    findings: list[Finding] = []
    reported: set[tuple[int, str]] = set()
    for use, scope in candidates:
        name, owner = use.id, _owner(scope)
        if (id(owner), name) in reported:
            continue
        if name == "DamarisData":
            if damarisdata_in_g:
                continue
            if owner is builder.module:
                kind = DAMARISDATA_DECLARED_GLOBAL
                message = _declared_global_message(builder.scopes)
            else:
                kind, message = DAMARISDATA_IN_FUNCTION, _damarisdata_message(owner)
        elif owner is builder.module:
            continue  # any other name declared global is stored in G at the top level too
        elif (
            name in builder.top_kinds
            and name not in builder.declared_global
            and name not in _BUILTINS
        ):
            kind, message = TOP_LEVEL_NAME, _name_message(name, builder.top_kinds[name], owner)
        else:
            continue
        reported.add((id(owner), name))
        findings.append(Finding(filename, use.lineno, use.col_offset + 1, name, kind, message))
    return findings


def check_file(path: str | Path) -> list[Finding]:
    """Read ``path`` (honouring a coding cookie) and return its findings.

    Raises :class:`~damaris_ref.core.errors.ScriptError` for a file that is not regular, too large,
    unreadable, not text, or that Python cannot compile; it is refused before being opened when its
    kind or size is wrong, so a FIFO or ``/dev/zero`` never blocks or fills memory.
    """
    try:
        status = os.stat(path)
        if not stat.S_ISREG(status.st_mode):
            raise ScriptError(f"not a regular file ({file_kind(status.st_mode)})")
        if status.st_size > MAX_SCRIPT_BYTES:
            raise ScriptError(
                f"{status.st_size} bytes; allowed: at most {MAX_SCRIPT_BYTES} for a script"
            )
        data = Path(path).read_bytes()
    except OSError as error:
        raise ScriptError(f"cannot read it: {error.strerror or error}") from None
    try:
        source = importlib.util.decode_source(data)
    except (SyntaxError, LookupError) as error:  # a bad coding cookie, or one naming no text
        message = error.msg if isinstance(error, SyntaxError) else _encoding_problem(data)
        return [Finding(str(path), 1, 1, "", SYNTAX_ERROR, f"syntax error: {message}")]
    except UnicodeDecodeError as error:
        raise ScriptError(f"not text in its encoding ({error.reason})") from None
    return check_source(source, str(path))


def _encoding_problem(data: bytes) -> str:
    """Python's words for a coding cookie that names a codec of no text (``rot13``)."""
    lines = iter(data.splitlines(keepends=True))
    try:
        encoding, _ = tokenize.detect_encoding(lambda: next(lines, b""))
    except SyntaxError as error:
        return error.msg
    return f"encoding problem: {encoding}"
