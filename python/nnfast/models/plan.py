"""The execution plan of a model: one list of steps, built once from its layer graph.

Sequential and Functional models both flatten their layers into a :class:`Plan`: each
:class:`PlanStep` names a layer, the tensor ids it reads and writes and its call
arguments. A forward pass (training or inference) is :func:`run_plan`, one loop over the
steps. Fusion (``models.fusion``) rewrites a plan into another plan; nothing else looks
inside the steps' layers.

Tensor ids are small integers: a model's inputs, then each step's outputs. A step reads one
id (``inputs`` is an int, the common case) or a nested list/tuple/dict of :class:`TensorRef`
(a merge layer's list, a dict of named inputs); extra call arguments may hold refs too
(``refs_in_args``).

Example:
    >>> model = Sequential([Input((4,)), Dense(8, activation="relu"), Dense(1)])
    >>> [type(step.layer).__name__ for step in model._plan.steps]
    ['Dense', 'Dense']
"""
import inspect
from dataclasses import dataclass, field

from nnfast.backend.tensor import Tensor
from nnfast.layers.layer import Layer, _takes_training


@dataclass(frozen=True, slots=True)
class TensorRef:
    """The tensor with id ``id`` inside a step's nested inputs or call arguments."""

    id: int


@dataclass(eq=False, slots=True)
class PlanStep:
    """One call of a plan.

    Attributes:
        layer: the layer called; for a fused step, the object standing for the layers it
            merges (its ``compute_mask``/``supports_masking`` give the step's mask rules).
        run: the callable that runs: ``layer``'s call (see ``Layer._plan_call``) or the
            fused callable of ``models.fusion``.
        inputs: the tensor id the step reads, or a nested list/tuple/dict of TensorRef.
        outputs: the tensor id the step writes, or a list of ids (a multi-output layer).
        args: extra positional call arguments (TensorRef where they are tensors of the plan).
        kwargs: extra keyword call arguments (same).
        takes_training: ``run`` takes ``training=``.
        takes_mask: ``run`` is passed the input's mask as ``mask=`` when there is one.
        refs_in_args: ``args``/``kwargs`` hold TensorRefs to fill at each call.
        merged: the layers a fused step computes, in order (empty for a plain step).
        makes_masks: ``layer`` overrides ``compute_mask`` (it may make a mask from an input
            without one); otherwise a step whose input has no mask gives no mask.
    """

    layer: object
    run: object
    inputs: object
    outputs: object
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    takes_training: bool = False
    takes_mask: bool = False
    refs_in_args: bool = False
    merged: tuple = ()
    makes_masks: bool = False

    @property
    def single_input(self):
        """The step reads one tensor id (not a structure)."""
        return isinstance(self.inputs, int)

    def input_ids(self):
        """The ids of ``inputs``, flattened (dicts in insertion order)."""
        return [self.inputs] if isinstance(self.inputs, int) else refs_in(self.inputs)

    def read_ids(self):
        """Every id the step reads: its inputs, then refs inside its call arguments."""
        ids = self.input_ids()
        if self.refs_in_args:
            ids += refs_in([self.args, self.kwargs])
        return ids

    def runs_own_call(self):
        """``run`` is the layer's own, unsubclassed-from-here ``call`` bound to it (not a fused
        callable, not an activity-regularized or mixed-precision wrapper)."""
        return (getattr(self.run, "__self__", None) is self.layer
                and getattr(self.run, "__func__", None) is type(self.layer).call)

    def is_plain(self):
        """One input id to one output id through the layer's own call, nothing else passed."""
        return (isinstance(self.inputs, int) and isinstance(self.outputs, int)
                and not self.args and not self.kwargs and not self.refs_in_args
                and self.runs_own_call())


@dataclass(eq=False)
class Plan:
    """A model's steps with its input and output tensor ids.

    Attributes:
        steps: the PlanSteps in execution order.
        input_ids: the ids the model's inputs are written to, in input order.
        output_ids: the ids returned, in output order.
        n_tensors: how many ids exist (the size of the run's value table).
        masks_every_step: Sequential's mask rule (every step computes its output's mask from
            its input's, as Keras's Sequential); otherwise a graph's rule (masks are tracked
            once some tensor carries one, and reach layers through their call arguments).
        releases: for each step, the ids whose last reader it is (not outputs): dropped
            right after it, so a feature map's memory is reused as soon as it is dead.
    """

    steps: list
    input_ids: list
    output_ids: list
    n_tensors: int
    masks_every_step: bool = False
    releases: list = None

    def __post_init__(self):
        if self.releases is None:
            self.releases = self._releases()

    def readers(self):
        """{tensor id: [indices of the steps that read it]}."""
        out = {}
        for i, step in enumerate(self.steps):
            for t in step.read_ids():
                out.setdefault(t, []).append(i)
        return out

    def with_steps(self, steps):
        """The same inputs and outputs computed by ``steps`` (releases recomputed)."""
        return Plan(list(steps), self.input_ids, self.output_ids, self.n_tensors,
                    self.masks_every_step)

    def _releases(self):
        keep = set(self.output_ids)
        last = {t: max(users) for t, users in self.readers().items() if t not in keep}
        out = [[] for _ in self.steps]
        for t, i in last.items():
            out[i].append(t)
        return [tuple(r) for r in out]


def layer_step(layer, inputs, outputs, args=(), kwargs=None, refs_in_args=False,
               takes_mask=False):
    """The plain step calling built ``layer`` (its ``_plan_call`` for a Layer)."""
    run = layer._plan_call() if isinstance(layer, Layer) else layer.call
    makes_masks = getattr(type(layer), "compute_mask", Layer.compute_mask) is not \
        Layer.compute_mask
    return PlanStep(layer, run, inputs, outputs, tuple(args), dict(kwargs or {}),
                    _takes_training(type(layer)), takes_mask, refs_in_args,
                    makes_masks=makes_masks)


def takes_mask(layer):
    """Whether ``layer``'s ``call`` has a ``mask`` parameter."""
    return "mask" in inspect.signature(type(layer).call).parameters


def refs_in(template):
    """The ids of the TensorRefs inside a nested list/tuple/dict (dicts in insertion order)."""
    if isinstance(template, TensorRef):
        return [template.id]
    if isinstance(template, (list, tuple)):
        return [t for v in template for t in refs_in(v)]
    if isinstance(template, dict):
        return [t for v in template.values() for t in refs_in(v)]
    return []


def fill(template, values):
    """``template`` with each TensorRef replaced by ``values[ref.id]``."""
    if isinstance(template, TensorRef):
        return values[template.id]
    if isinstance(template, tuple):
        return tuple(fill(v, values) for v in template)
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    return template


def flatten_struct(x):
    """Leaves of a tensor/list/tuple/dict structure; dicts in sorted key order (as Keras)."""
    if isinstance(x, (list, tuple)):
        return [t for v in x for t in flatten_struct(v)]
    if isinstance(x, dict):
        return [t for k in sorted(x) for t in flatten_struct(x[k])]
    return [x]


def run_plan(plan, inputs, training=None, mask=None):
    """Runs ``plan`` forward and returns the list of its outputs.

    Args:
        plan: a Plan.
        inputs: one value per ``plan.input_ids`` (arrays or Tensors, already checked).
        training: passed to the steps that take ``training``.
        mask: the mask of the (first) input, or None.

    Keras masks ride along as Layer.__call__ would attach them, and the mask reaching an
    output is set on it (so the loss is masked, as in Keras).
    """
    vals = [None] * plan.n_tensors
    for t, x in zip(plan.input_ids, inputs):
        vals[t] = x
    every_step = plan.masks_every_step
    masks = {}  # tensor id -> mask; filled only once some tensor carries a mask
    if mask is not None:
        masks[plan.input_ids[0]] = mask
    for step, dead in zip(plan.steps, plan.releases):
        spec = step.inputs
        x = vals[spec] if type(spec) is int else fill(spec, vals)
        if step.refs_in_args:
            a, kw = fill(step.args, vals), dict(fill(step.kwargs, vals))
        else:
            a, kw = step.args, step.kwargs
        if step.takes_mask and masks:
            m = masks.get(spec) if type(spec) is int else None
            if m is not None:
                kw = dict(kw, mask=m)
        if step.takes_training:
            y = step.run(x, *a, training=training, **kw)
        else:
            y = step.run(x, *a, **kw)
        if every_step:
            # no mask so far and none made here: the output has none (skips compute_mask)
            if masks or step.makes_masks or getattr(y, "_keras_mask", None) is not None:
                _sequential_mask(step, x, y, masks)
        elif masks or getattr(y, "_keras_mask", None) is not None:
            _graph_mask(step, x, y, masks)
        out = step.outputs
        if type(out) is int:
            vals[out] = y
        else:
            for t, v in zip(out, flatten_struct(y)):
                vals[t] = v
        for t in dead:
            vals[t] = None
    outs = [vals[t] for t in plan.output_ids]
    if masks:
        for t, out in zip(plan.output_ids, outs):
            m = masks.get(t)
            if m is not None and isinstance(out, Tensor) and out._keras_mask is None:
                out._keras_mask = m
    return outs


def _sequential_mask(step, x, y, masks):
    """Keras's Sequential rule: the output's own mask, else what the layer's compute_mask
    says of the input's mask; a layer without one keeps the mask only if it supports
    masking."""
    layer, spec = step.layer, step.inputs
    own = getattr(y, "_keras_mask", None)
    if own is None:
        in_mask = masks.get(spec)
        if hasattr(layer, "compute_mask"):
            own = layer.compute_mask(x, in_mask)
        elif layer.supports_masking:
            own = in_mask
    if own is not None:
        masks[step.outputs] = own
    else:
        masks.pop(step.outputs, None)


def _graph_mask(step, x, y, masks):
    """The mask of a graph step's output, as Keras's Layer.__call__ computes it: the output's
    own ``_keras_mask``, else ``layer.compute_mask(inputs, input masks)`` when an input had a
    mask."""
    layer, out_spec = step.layer, step.outputs
    own = getattr(y, "_keras_mask", None)
    if own is None:
        if step.single_input:
            in_mask = masks.get(step.inputs)
        else:
            in_mask = [masks.get(t) for t in step.input_ids()]
            if all(m is None for m in in_mask):
                in_mask = None
            elif len(in_mask) == 1:
                in_mask = in_mask[0]
        if in_mask is None or not hasattr(layer, "compute_mask"):
            return
        try:
            own = layer.compute_mask(x, in_mask)
        except (TypeError, ValueError, NotImplementedError):
            own = None
    if isinstance(out_spec, int):
        if own is not None:
            masks[out_spec] = own
    else:
        for t, m in zip(out_spec, own if isinstance(own, (list, tuple)) else [own] * len(out_spec)):
            if m is not None:
                masks[t] = m
