"""User expressions: evaluation equals numpy; anything outside the whitelist is refused before
anything is evaluated, with a message naming the part refused and what is allowed."""

from __future__ import annotations

import time

import numpy as np
import pytest
import xarray as xr

from components.core import derived, expressions, fields
from data_adapters import SourceError


def _ocean() -> xr.Dataset:
    rng = np.random.default_rng(7)
    dims = ("time", "lat", "lon")
    uo = rng.normal(0, 0.5, (3, 4, 5))
    vo = rng.normal(0, 0.5, (3, 4, 5))
    thetao = rng.uniform(-2, 30, (3, 4, 5))
    thetao[0, 0, 0] = np.nan
    return xr.Dataset(
        {
            "uo": (dims, uo, {"units": "m s-1", "long_name": "Eastward velocity"}),
            "vo": (dims, vo, {"units": "m s-1", "long_name": "Northward velocity"}),
            "thetao": (dims, thetao, {"units": "degC", "long_name": "Temperature"}),
        },
        coords={
            "time": np.array(["2025-01-01", "2025-01-02", "2025-01-03"], dtype="datetime64[ns]"),
            "lat": ("lat", np.linspace(-30, 30, 4), {"units": "degrees_north"}),
            "lon": ("lon", np.linspace(0, 40, 5), {"units": "degrees_east"}),
        },
    ).chunk({"time": 1})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("speed2 = sqrt(uo**2 + vo**2)", lambda d: np.sqrt(d.uo**2 + d.vo**2)),
        ("f = thetao * 1.8 + 32", lambda d: d.thetao * 1.8 + 32),
        ("a = -uo / (vo - 1) ** -2", lambda d: -d.uo / (d.vo - 1) ** -2.0),
        ("warm = thetao > 25", lambda d: (d.thetao > 25).astype(float)),
        ("w = where(thetao >= 10, uo, 0)", lambda d: np.where(d.thetao >= 10, d.uo, 0)),
        ("c = clip(thetao, 0, 20)", lambda d: np.clip(d.thetao, 0, 20)),
        ("m = maximum(abs(uo), abs(vo))", lambda d: np.maximum(np.abs(d.uo), np.abs(d.vo))),
        ("l = log10(abs(uo)) + exp(vo) - log(2)",
         lambda d: np.log10(np.abs(d.uo)) + np.exp(d.vo) - np.log(2)),
        ("s = sin(uo) * cos(vo) + minimum(uo, vo)",
         lambda d: np.sin(d.uo) * np.cos(d.vo) + np.minimum(d.uo, d.vo)),
    ],
)  # fmt: skip
def test_evaluation_equals_numpy(text, expected):
    ds = derived.with_derived(_ocean(), [text])
    name = text.split("=")[0].strip()
    assert ds[name].chunks is not None  # lazy
    raw = _ocean().compute()
    np.testing.assert_allclose(ds[name].values, np.asarray(expected(raw)), equal_nan=True)


def test_units_given_or_kept_and_a_map_chosen_like_a_stored_variable():
    ds = derived.with_derived(
        _ocean(), ["warm [degC] = thetao - 20", "ratio = uo / vo", "twice = 2 * uo + vo"]
    )
    assert ds["warm"].attrs["units"] == "degC"
    assert ds["ratio"].attrs["units"] == "unknown"
    assert ds["twice"].attrs["units"] == "m s-1"
    assert ds["warm"].attrs["long_name"] == "warm = thetao - 20"
    field = fields.field(ds, fields.Choice("warm", time="2025-01-02")).data
    np.testing.assert_allclose(field.values, _ocean().thetao.isel(time=1).values - 20)


def test_an_expression_alone_is_named_expression_and_division_by_zero_is_no_data():
    ds = derived.with_derived(_ocean(), ["uo / 0"])  # warnings are errors: none is raised
    assert ds["expression"].attrs["long_name"] == "expression = uo / 0"
    assert np.isnan(ds["expression"].values).all()


HOSTILE = [
    ("__import__('os').system('touch {marker}')", "call"),
    ("().__class__", "Attribute"),
    ("uo.attrs", "Attribute"),
    ("uo[0]", "Subscript"),
    ("(lambda: uo)()", "call"),
    ("lambda x: x", "Lambda"),
    ("open('{marker}', 'w')", "call"),
    ("sqrt(x=uo)", "plain argument"),
    ("uo + 'a'", "not a number"),
    ("uo if uo else vo", "IfExp"),
    ("[uo for uo in vo]", "ListComp"),
    ("unknown + 1", "unknown name 'unknown'"),
    ("thetoa + 1", "did you mean 'thetao'"),
    ("9**9**9", "exponent"),
    ("uo ** 99", "exponent"),
    ("uo ** vo", "exponent"),
    ("uo + " + "1+" * 150 + "1", "longer than 200"),
    ("(" * 60 + "uo", "not an expression"),
    ("1 + 2", "uses no variable"),
    ("uo < vo < 1", "one comparison"),
    ("uo and vo", "BoolOp"),
    ("uo = ", "no expression"),
    ("thetao = uo", "taken"),
    ("x [m; rm -rf] = uo", "units"),
]


@pytest.mark.parametrize(("text", "why"), HOSTILE)
def test_anything_else_is_refused_before_evaluation(text, why, tmp_path, monkeypatch):
    marker = tmp_path / "touched"
    monkeypatch.chdir(tmp_path)
    started = time.perf_counter()
    with pytest.raises(SourceError) as refused:
        derived.with_derived(_ocean(), [text.format(marker=marker)])
    message = str(refused.value)
    assert why in message
    assert "\n" not in message
    assert "allowed" in message or why in ("taken", "units")
    assert not marker.exists()  # nothing ran
    assert time.perf_counter() - started < 5.0  # refused, not computed


def test_the_definition_reads_back_as_the_same_expression():
    parsed = expressions.parse("warm [degC] = thetao - 20", ["thetao"])
    again = expressions.parse(parsed.definition, ["thetao"])
    assert (again.name, again.units, again.text) == ("warm", "degC", "thetao - 20")


def test_variables_of_different_dims_broadcast_in_the_contract_order():
    ds = _ocean()
    ds["thetao3d"] = ds["thetao"].expand_dims(depth=[0.5, 10.0], axis=1)
    ds["depth"].attrs.update(units="m", positive="down")
    out = derived.with_derived(ds, ["d = uo + thetao3d"])["d"]
    assert out.dims == ("time", "depth", "lat", "lon")
    np.testing.assert_allclose(out.isel(depth=1).values, (ds.uo + ds.thetao).values)
