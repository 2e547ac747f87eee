"""``nnfast.tree``: nested-structure utilities with ``keras.tree``'s semantics.

A structure is a leaf or a node. Nodes are exactly (by type, not subclass) ``list``,
``tuple``, namedtuples, ``dict``, ``collections.OrderedDict``, ``collections.defaultdict``
and ``collections.deque``; everything else (numbers, strings, arrays, tensors, sets, list
subclasses) is a leaf. ``None`` is a leaf unless ``none_is_leaf=False`` is asked for.
Children of a ``dict``/``defaultdict`` are visited in sorted key order (an ``OrderedDict``
in insertion order), and a rebuilt dict keeps the key order of the structure it was
flattened from. ``dict``, ``OrderedDict`` and ``defaultdict`` with the same keys match each
other; ``list``, ``tuple``, a namedtuple and ``deque`` do not.

Example:
    >>> from nnfast import tree
    >>> tree.flatten({"b": [1, (2, 3)], "a": 4})
    [4, 1, 2, 3]
    >>> tree.map_structure(lambda x: x * 10, {"b": [1, (2, 3)], "a": 4})
    {'b': [10, (20, 30)], 'a': 40}
"""
import collections

__all__ = [
    "MAP_TO_NONE", "assert_same_paths", "assert_same_structure", "flatten", "flatten_with_path",
    "is_nested", "lists_to_tuples", "map_shape_structure", "map_structure",
    "map_structure_up_to", "pack_sequence_as", "traverse",
]

_DICT_TYPES = (dict, collections.OrderedDict, collections.defaultdict)


class MAP_TO_NONE:
    """Returned by a ``traverse`` function to replace a sub-structure by ``None``."""


def _is_namedtuple(x):
    return isinstance(x, tuple) and type(x) is not tuple and hasattr(type(x), "_fields")


def _node_kind(x, none_is_leaf=True):
    """The node kind of ``x`` ('list', 'tuple', 'namedtuple', 'dict', 'deque', 'none'), or
    None when ``x`` is a leaf."""
    t = type(x)
    if t is list:
        return "list"
    if t is tuple:
        return "tuple"
    if t in _DICT_TYPES:
        return "dict"
    if t is collections.deque:
        return "deque"
    if x is None:
        return None if none_is_leaf else "none"
    if _is_namedtuple(x):
        return "namedtuple"
    return None


def _sorted_keys(d):
    if type(d) is collections.OrderedDict:
        return list(d.keys())
    try:
        return sorted(d.keys())
    except TypeError:  # keys of mixed types: group by type name, then value
        return sorted(d.keys(), key=lambda k: (type(k).__name__, repr(k)))


def _children(x, kind):
    """(children, path entries) of node ``x`` in visiting order."""
    if kind == "dict":
        keys = _sorted_keys(x)
        return [x[k] for k in keys], keys
    if kind == "none":
        return [], []
    children = list(x)
    return children, list(range(len(children)))


class _Spec:
    """The shape of a structure: its node kind, what rebuilding needs, and child specs
    (a leaf's spec has kind None)."""

    __slots__ = ("children", "keys", "kind", "node")

    def __init__(self, kind, node=None, keys=None, children=()):
        self.kind, self.node, self.keys, self.children = kind, node, keys, children

    def num_leaves(self):
        if self.kind is None:
            return 1
        total = 0
        for child in self.children:
            total += child.num_leaves()
        return total

    def rebuild(self, values):
        """A node like the one this spec came from, holding ``values`` (visiting order)."""
        kind, node = self.kind, self.node
        if kind == "list":
            return list(values)
        if kind == "tuple":
            return tuple(values)
        if kind == "namedtuple":
            return type(node)(*values)
        if kind == "deque":
            return collections.deque(values, maxlen=node.maxlen)
        if kind == "none":
            return None
        by_key = dict(zip(self.keys, values))
        items = [(k, by_key[k]) for k in node.keys()]  # the structure's own key order
        if type(node) is collections.defaultdict:
            return collections.defaultdict(node.default_factory, items)
        return type(node)(items)


def _make_spec(x, none_is_leaf=True, is_leaf=None, leaves=None):
    if is_leaf is not None and is_leaf(x):
        kind = None
    else:
        kind = _node_kind(x, none_is_leaf)
    if kind is None:
        if leaves is not None:
            leaves.append(x)
        return _Spec(None)
    children, keys = _children(x, kind)
    specs = tuple(_make_spec(c, none_is_leaf, is_leaf, leaves) for c in children)
    return _Spec(kind, x, keys, specs)


def _unflatten(spec, it):
    if spec.kind is None:
        return next(it)
    return spec.rebuild([_unflatten(c, it) for c in spec.children])


def _describe_expected(spec):
    if spec.kind == "none":
        return "None"
    if spec.kind == "namedtuple":
        return f"an instance of {type(spec.node).__name__}"
    return f"an instance of {type(spec.node).__name__}"


def _flatten_up_to(spec, x, none_is_leaf=True, out=None):
    """The sub-structures of ``x`` at the leaves of ``spec``; ValueError where ``x`` does
    not have ``spec``'s nodes (same kind, same length, same keys)."""
    out = [] if out is None else out
    if spec.kind is None:
        out.append(x)
        return out
    kind = _node_kind(x, none_is_leaf)
    same = kind == spec.kind
    if same and kind == "namedtuple":
        same = type(x) is type(spec.node)
    if not same:
        raise ValueError(f"Expected {_describe_expected(spec)}, got {x!r}.")
    children, keys = _children(x, kind)
    if kind == "dict":
        if set(keys) != set(spec.keys):
            raise ValueError(f"Expected a dict with keys {sorted(map(repr, spec.keys))}, "
                             f"got {x!r}.")
        children = [x[k] for k in spec.keys]
    elif len(children) != len(spec.children):
        raise ValueError(f"Expected {_describe_expected(spec)} of length "
                         f"{len(spec.children)}, got {x!r}.")
    for child_spec, child in zip(spec.children, children):
        _flatten_up_to(child_spec, child, none_is_leaf, out)
    return out


def _tree_map(func, first, rest, none_is_leaf=True, is_leaf=None):
    leaves = []
    spec = _make_spec(first, none_is_leaf, is_leaf, leaves)
    others = [_flatten_up_to(spec, s, none_is_leaf) for s in rest]
    mapped = [func(*args) for args in zip(leaves, *others)]
    return _unflatten(spec, iter(mapped))


def is_nested(structure):
    """True when ``structure`` is a list, tuple, namedtuple, dict or deque (not a leaf).

    Args:
        structure: any object.

    Example:
        >>> is_nested(42), is_nested({"foo": 42})
        (False, True)
    """
    return _node_kind(structure) is not None


def traverse(func, structure, top_down=True):
    """Visits every sub-structure depth first, applying ``func`` to it.

    Top-down (default): where ``func(sub)`` is None the traversal goes into ``sub``; any
    other value replaces ``sub`` (``MAP_TO_NONE`` replaces it by None) and its children are
    not visited. Bottom-up: children are traversed first; ``func`` of the rebuilt node
    replaces it unless it returns None.

    Args:
        func: callable applied to each sub-structure (leaves included).
        structure: the nested structure.
        top_down: parents before children when True.

    Returns:
        The traversed structure.

    Example:
        >>> traverse(lambda x: None, [(1, 2), [3]])
        [(1, 2), [3]]
    """
    if not callable(func):
        raise TypeError(f"`func` must be callable. Received: func={func!r}")

    def traverse_children():
        kind = _node_kind(structure)
        if kind is None:
            return structure
        spec = _make_spec(structure, is_leaf=lambda x: x is not structure)
        children, _ = _children(structure, kind)
        return spec.rebuild([traverse(func, c, top_down=top_down) for c in children])

    if top_down:
        result = func(structure)
        if result is None:
            return traverse_children()
    else:
        traversed = traverse_children()
        result = func(traversed)
        if result is None:
            return traversed
    if result is MAP_TO_NONE:
        return None
    return result


def flatten(structure):
    """The leaves of ``structure`` as a list, in visiting order (dicts by sorted key).

    Args:
        structure: a nested structure (lists, tuples, namedtuples, dicts, deques; anything else
            is a leaf).

    Example:
        >>> flatten([[1, 2], {"b": 3, "a": None}])
        [1, 2, None, 3]
    """
    leaves = []
    _make_spec(structure, leaves=leaves)
    return leaves


def flatten_with_path(structure):
    """``[(path, leaf), ...]`` where a path is the tuple of indices and keys leading to the
    leaf (namedtuples use indices).

    Args:
        structure: a nested structure (lists, tuples, namedtuples, dicts, deques; anything else
            is a leaf).

    Example:
        >>> flatten_with_path({"a": [1, 2]})
        [(('a', 0), 1), (('a', 1), 2)]
    """
    out = []

    def walk(x, path):
        kind = _node_kind(x)
        if kind is None:
            out.append((path, x))
            return
        children, keys = _children(x, kind)
        for key, child in zip(keys, children):
            walk(child, path + (key,))

    walk(structure, ())
    return out


def map_structure(func, *structures, none_is_leaf=True):
    """Applies ``func`` to the corresponding leaves of ``structures`` (same layout).

    Args:
        func: callable taking one argument per structure.
        *structures: structures of the same layout.
        none_is_leaf: when False, None entries are kept as None and not passed to ``func``.

    Returns:
        A structure of the first one's layout holding ``func``'s results.

    Raises:
        ValueError: if the structures do not have the same layout.

    Example:
        >>> map_structure(lambda a, b: a + b, [1, (2,)], [10, (20,)])
        [11, (22,)]
    """
    if not callable(func):
        raise TypeError(f"`func` must be callable. Received: func={func!r}")
    if not structures:
        raise ValueError("Must provide at least one structure")
    if len(structures) == 1:
        return _tree_map(func, structures[0], (), none_is_leaf)

    def func_with_check(*args):
        for a in args:
            if _node_kind(a, none_is_leaf) is not None:
                raise ValueError("Structures don't have the same nested structure.")
        return func(*args)

    return _tree_map(func_with_check, structures[0], structures[1:], none_is_leaf)


def map_structure_up_to(shallow_structure, func, *structures):
    """Like ``map_structure``, but only down to the leaves of ``shallow_structure``: what
    ``structures`` hold below those leaves is handed to ``func`` whole.

    Args:
        shallow_structure: the structure whose leaves bound the recursion; the ``structures``
            must have its nodes.
        func: called with one sub-structure of each of ``structures``.
        *structures: the structures mapped over together.

    Example:
        >>> map_structure_up_to([1, 1], str, [[1, 1], 2])
        ['[1, 1]', '2']
    """
    if not structures:
        raise ValueError("Must provide at least one structure")

    def func_with_check(shallow, *args):
        if shallow is None or is_nested(shallow):
            raise ValueError("Structures don't have the same nested structure.")
        return func(*args)

    return _tree_map(func_with_check, shallow_structure, structures)


def assert_same_structure(a, b, check_types=None):
    """Raises ValueError unless ``a`` and ``b`` are nested the same way (same node types,
    lengths and dict keys; leaves may differ). ``check_types`` is accepted for Keras
    compatibility and, as in Keras, has no effect.

    Args:
        a: a nested structure.
        b: the structure compared with it.
        check_types: ignored (warns when given), as in Keras.

    Example:
        >>> assert_same_structure([1, (2, 3)], [4, (5, 6)])
    """
    if check_types is not None:
        import warnings

        warnings.warn("The `check_types` argument is deprecated and no longer has any effect.",
                      DeprecationWarning, stacklevel=2)

    def check(x, y):
        if is_nested(x) or is_nested(y):
            raise ValueError("Structures don't have the same nested structure.")

    _tree_map(check, a, (b,))


def _paths(structure):
    return {path for path, _ in flatten_with_path(structure)}


def assert_same_paths(a, b):
    """Raises ValueError unless ``a`` and ``b`` have the same leaf paths (container types
    are ignored: a list and a tuple of the same length match).

    Args:
        a: a nested structure.
        b: the structure compared with it.

    Example:
        >>> assert_same_paths([1, 2], (3, 4))
    """
    a_paths, b_paths = _paths(a), _paths(b)
    if a_paths != b_paths:
        msg = "`a` and `b` don't have the same paths."
        if a_paths - b_paths:
            msg += f"\nPaths in `a` missing in `b`:\n{a_paths - b_paths}"
        if b_paths - a_paths:
            msg += f"\nPaths in `b` missing in `a`:\n{b_paths - a_paths}"
        raise ValueError(msg)


def pack_sequence_as(structure, flat_sequence):
    """Packs the leaves ``flat_sequence`` into the layout of ``structure`` (the inverse of
    ``flatten``).

    Raises:
        TypeError: if ``flat_sequence`` is not iterable.
        ValueError: if it has too few or too many elements.

    Args:
        structure: the layout to rebuild.
        flat_sequence: the leaves, in ``flatten``'s order; their count must equal the number of
            leaves of ``structure``.

    Example:
        >>> pack_sequence_as({"b": 0, "a": 0}, [1, 2])
        {'b': 2, 'a': 1}
    """
    try:
        flat = list(flat_sequence)
    except TypeError:
        raise TypeError(f"`flat_sequence` must be iterable. Received: "
                        f"flat_sequence={flat_sequence!r}") from None
    spec = _make_spec(structure)
    expected = spec.num_leaves()
    if len(flat) < expected:
        raise ValueError(f"Too few leaves for the structure; expected: {expected}, "
                         f"got: {len(flat)}.")
    if len(flat) > expected:
        raise ValueError(f"Too many leaves for the structure; expected: {expected}, "
                         f"got: {len(flat)}.")
    return _unflatten(spec, iter(flat))


def lists_to_tuples(structure):
    """The same structure with every list turned into a tuple.

    Args:
        structure: a nested structure (lists, tuples, namedtuples, dicts, deques; anything else
            is a leaf).

    Example:
        >>> lists_to_tuples([1, [2, {"a": [3]}]])
        (1, (2, {'a': (3,)}))
    """
    return traverse(lambda x: tuple(x) if isinstance(x, list) else None, structure,
                    top_down=False)


def _is_shape_tuple(x):
    return isinstance(x, (list, tuple)) and all(isinstance(e, (int, type(None))) for e in x)


def map_shape_structure(func, structure):
    """``map_structure`` where shape tuples (lists/tuples of ints and None) are leaves.

    Args:
        func: called on each shape tuple (and each other leaf).
        structure: a nested structure (lists, tuples, namedtuples, dicts, deques; anything else
            is a leaf).

    Example:
        >>> map_shape_structure(len, {"a": (1, None), "b": [(2, 3), [4]]})
        {'a': 2, 'b': [2, 1]}
    """
    return _tree_map(func, structure, (), True, _is_shape_tuple)
