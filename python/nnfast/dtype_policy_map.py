"""``keras.dtype_policies.DTypePolicyMap``: per-layer dtype policies keyed by layer path.

A layer built with ``dtype=<a DTypePolicyMap>`` takes the policy its path maps to (in nnfast a
layer's path is its name), else the map's default policy; the map itself stays the layer's
``dtype_policy`` and is what ``get_config`` writes, as in Keras.

Example:
    >>> from nnfast.dtype_policies import DTypePolicyMap
    >>> policies = DTypePolicyMap(default_policy="float32")
    >>> policies["encoder/.*"] = "mixed_bfloat16"
    >>> policies["encoder/attention/query"].name
    'mixed_bfloat16'
    >>> policies["decoder"].name
    'float32'
"""
import re
from collections.abc import MutableMapping

from nnfast.dtype_policies import DTypePolicy, deserialize, get, serialize


class DTypePolicyMap(DTypePolicy, MutableMapping):
    """A dict from layer paths (exact strings or regular expressions matched whole) to
    ``DTypePolicy`` objects, itself usable as a layer's ``dtype``.

    Lookup (``policy_map[path]``): an exact key wins; otherwise every key is tried as a
    regular expression with ``re.fullmatch``; one match gives its policy, several raise a
    ``ValueError``, none gives ``default_policy``. A key ``"encoder"`` matches only that path,
    not ``"encoder/dense"`` (write ``"encoder/.*"`` for the children).

    Args:
        default_policy: the policy of paths no key matches: a ``DTypePolicy`` or a name;
            ``None`` (default) means ``nnfast.config.dtype_policy()`` at lookup time.
        policy_map: an optional dict ``{path: policy}``.

    Attributes:
        name: ``"map_<default policy name>"``.
        compute_dtype, variable_dtype, quantization_mode: the default policy's.

    Example:
        >>> policies = DTypePolicyMap(policy_map={"dense_1": "mixed_bfloat16"})
        >>> nnfast.layers.Dense(4, name="dense_1", dtype=policies).compute_dtype
        'bfloat16'
    """

    def __init__(self, default_policy=None, policy_map=None):
        if isinstance(default_policy, DTypePolicyMap):
            # Keras raises ValueError here (not TypeError)
            raise ValueError("`default_policy` cannot be a `DTypePolicyMap`.")  # noqa: TRY004
        if policy_map is not None and not isinstance(policy_map, dict):
            raise TypeError("If specified, `policy_map` must be a dict. Received: "
                            f"policy_map={policy_map} of type {type(policy_map)}")
        self._default_policy_arg = default_policy
        self._default_policy = None if default_policy is None else get(default_policy)
        self._policy_map = {}
        for key, policy in (policy_map or {}).items():
            self[key] = policy

    @property
    def default_policy(self):
        """The policy of unmatched paths (the global policy when none was given)."""
        return get(self._default_policy)

    @property
    def name(self):
        return f"map_{self.default_policy.name}"

    @property
    def compute_dtype(self):
        return self.default_policy.compute_dtype

    @property
    def variable_dtype(self):
        return self.default_policy.variable_dtype

    @property
    def quantization_mode(self):
        return self.default_policy.quantization_mode

    def __getitem__(self, key):
        if key in self._policy_map:
            return self._policy_map[key]
        matches = [pattern for pattern in self._policy_map if re.fullmatch(pattern, key)]
        if len(matches) > 1:
            raise ValueError(f"Path '{key}' matches multiple dtype policy specification keys: "
                             f"{matches}. Please make sure each path only matches at most one "
                             "dtype policy specification key in the DTypePolicyMap.")
        if matches:
            return self._policy_map[matches[0]]
        return self.default_policy

    def __setitem__(self, key, policy):
        if key in self._policy_map:
            raise ValueError(f"{key} already exist in the DTypePolicyMap with value "
                             f"{self._policy_map[key]}. Please make sure to not use "
                             "duplicated keys.")
        try:
            policy = get(policy)
        except Exception as error:
            raise ValueError("Cannot interpret the assigned value by "
                             f"`keras.dtype_policies.get`. Received: {policy} of type "
                             f"{type(policy)}") from error
        self._policy_map[key] = policy

    def __delitem__(self, key):
        return self._policy_map.pop(key)

    def __contains__(self, key):
        return key in self._policy_map

    def __len__(self):
        return len(self._policy_map)

    def __iter__(self):
        return iter(self._policy_map)

    # DTypePolicy defines __eq__/__hash__ by name; a map compares as a mapping.
    def __eq__(self, other):
        return (isinstance(other, DTypePolicyMap) and other._default_policy_arg ==
                self._default_policy_arg and other._policy_map == self._policy_map)

    __hash__ = None

    def get_config(self):
        """Keras's form: ``{"default_policy": <as given>, "policy_map": {path: serialized
        policy}}``. With no default policy, the mapped plain policies are written without a
        name (Keras's convention: they follow the global policy when loaded)."""
        entries = {}
        for key, policy in self._policy_map.items():
            entry = serialize(policy)
            if self._default_policy_arg is None and "name" in entry["config"]:
                entry["config"] = dict(entry["config"], name=None)
            entries[key] = entry
        return {"default_policy": self._default_policy_arg, "policy_map": entries}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        entries = config.get("policy_map") or {}
        if isinstance(entries, dict) and "config" in entries and "class_name" in entries:
            entries = entries["config"]  # a serialized dict around the entries
        config["policy_map"] = {key: deserialize(value) if isinstance(value, dict) else value
                                for key, value in entries.items()}
        default = config.get("default_policy")
        if isinstance(default, dict):
            config["default_policy"] = deserialize(default)
        return cls(**config)

    def __repr__(self):
        default = None if self._default_policy is None else self._default_policy.name
        mapping = [(key, policy.name) for key, policy in self._policy_map.items()]
        return f"<DTypePolicyMap at {hex(id(self))} default_policy={default}, mapping={mapping}>"
