"""Reading the config text that mmengine stores in a training checkpoint (``meta['cfg']``) as data, never as code.

mmengine's own way (``Config.fromstring``) executes the text as Python; a checkpoint is not trusted input, so the
text is parsed with :mod:`ast` and only literals, lists/tuples/dicts and ``dict(...)`` calls are evaluated."""
import ast
from typing import Any, Optional, Tuple


class _NotData(ValueError):
    pass


def _evaluate(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_evaluate(e) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):  # ``**spread``
            raise _NotData('dict unpacking')
        return {_evaluate(k): _evaluate(v) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == 'dict' and not node.args:
        if any(kw.arg is None for kw in node.keywords):
            raise _NotData('dict(**spread)')
        return {kw.arg: _evaluate(kw.value) for kw in node.keywords}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _evaluate(node.operand)
        if not isinstance(value, (int, float)):
            raise _NotData('sign of a non-number')
        return -value if isinstance(node.op, ast.USub) else value
    raise _NotData(type(node).__name__)


def read_config_text(text: str) -> dict:
    """The top-level ``name = <data>`` assignments of a config dump that are plain data; everything else (imports,
    calls other than ``dict``, names) is skipped, never run. Unparsable text gives ``{}``."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return {}
    out = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            try:
                out[stmt.targets[0].id] = _evaluate(stmt.value)
            except _NotData:
                continue
    return out


def backbone_from_config_text(text: Optional[str]) -> Optional[Tuple[str, Any]]:
    """``(family, arch)`` of the ``model.backbone`` a stored config names (family without scope), or None."""
    if not isinstance(text, str) or not text:
        return None
    backbone = read_config_text(text).get('model', {})
    backbone = backbone.get('backbone') if isinstance(backbone, dict) else None
    if not isinstance(backbone, dict) or not isinstance(backbone.get('type'), str):
        return None
    return backbone['type'].split('.')[-1], backbone.get('arch')
