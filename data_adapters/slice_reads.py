"""Reads of a selection of a selection read only the cells asked for.

A lazy source (a NetCDF or OPeNDAP variable opened by xarray, the demo ocean) is a dask array
whose chunks are read by a getter: dask fuses a slice of a chunk into its getter, so the
source reads only the slice (xarray relies on this: a point of a NetCDF chunk reads the
point). Dask's fusion stops at an alias, and it makes one when the first selection takes
whole chunks: a run and a depth, then a window of rows (a map zoomed in, a band of rows of
the climatology), read the whole chunk and cut it afterwards. For the demo ocean at 1/4°,
a band of a tenth of the rows cost as much as the whole map (37 ms a step).

:func:`optimize` is dask's array optimisation followed by one pass that moves each such
alias behind its getter, so the slice after it is fused into the getter as dask would have
done without the alias. :func:`install` makes it the optimisation of every dask array of the
process (``array_optimize`` in dask's configuration); the values read are the same.
"""

from __future__ import annotations

import dask
from dask._task_spec import (
    Alias,
    DataNode,
    GraphNode,
    Task,
    _execute_subgraph,
    convert_legacy_graph,
)
from dask.array import optimization
from dask.highlevelgraph import HighLevelGraph, MaterializedLayer


def optimize(dsk, keys, **kwargs):
    """Dask's array optimisation, then slices behind an alias fused into their getter."""
    if isinstance(dsk, HighLevelGraph):
        dsk = _as_tasks(dsk)
    dsk = optimization.optimize(dsk, keys, **kwargs)
    if isinstance(dsk, dict) and any([_unalias(task) for task in dsk.values()]):
        dsk = optimization._optimize_slices(dsk)
    return dsk


def _as_tasks(graph: HighLevelGraph) -> HighLevelGraph:
    """``graph`` with each "legacy" layer (values that are not dask tasks: the source that
    ``from_array`` keeps bare in a layer of its own, a file's variable or the demo's array;
    the key tuples of ``concatenate``) in the form of tasks. Dask culls a graph with such a
    layer by first listing every chunk of every layer: 0.2 s a read of one map of the demo
    with a past (482,000 chunks). As tasks, the graph culls to the chunks asked for."""
    legacy = [
        name
        for name, layer in graph.layers.items()
        if isinstance(layer, MaterializedLayer) and layer.has_legacy_tasks
    ]
    if not legacy:
        return graph
    layers = dict(graph.layers)
    for name in legacy:
        layer = graph.layers[name]
        value = layer.mapping.get(name)
        if name.startswith("original-") and len(layer.mapping) == 1 and _bare(value):
            tasks = {name: DataNode(name, value)}
        else:  # a legacy task names keys of its own layer or of the layers it depends on
            known = set(layer.mapping)
            for dependency in graph.dependencies.get(name, ()):
                known.update(graph.layers[dependency].get_output_keys())
            tasks = convert_legacy_graph(layer.mapping, known)
        layers[name] = MaterializedLayer(tasks, annotations=layer.annotations)
    return HighLevelGraph(layers, graph.dependencies)


def _bare(value) -> bool:
    return value is not None and not isinstance(value, GraphNode | tuple | list | dict | str)


def _unalias(task) -> bool:
    """In a fused task's inner graph, swap each alias of a getter's chunk with the getter
    (the getter under the alias' key, the alias under the getter's), where both have one
    dependent only: the slice that follows the alias then meets the getter. True when any
    was swapped."""
    if not (isinstance(task, Task) and task.func is _execute_subgraph):
        return False
    inner = task.args[0]
    if not isinstance(inner, dict):
        return False
    dependents: dict = {}
    for node in inner.values():
        for key in node.dependencies:
            dependents[key] = dependents.get(key, 0) + 1
    swapped = False
    for key, node in list(inner.items()):
        if not isinstance(node, Alias) or node.target not in inner:
            continue
        target = inner[node.target]
        if not (isinstance(target, Task) and target.func in optimization.GETTERS):
            continue
        if dependents.get(node.target, 0) != 1 or dependents.get(key, 0) != 1:
            continue
        inner[key] = target.substitute({}, key=key)
        inner[node.target] = Alias(node.target, key)
        swapped = True
    return swapped


def install() -> None:
    """Use :func:`optimize` for every dask array computed in this process."""
    dask.config.set(array_optimize=optimize)
