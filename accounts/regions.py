"""China's administrative divisions (province / city / district) for the address form.

Pure functions over the vendored data (``accounts/data/china-division-2.7.0``, the National Bureau
of Statistics' 2023 codes, WTFPL), no ORM. Names are the data's Chinese names, as addresses are
written; every function takes and returns names, ``region_code`` the 6-digit code of the most
precise level named.

The data is reshaped the way members write addresses (and JD / Taobao pickers show them): a
municipality's "市辖区" is the city named like the municipality (上海市 / 上海市 / 浦东新区), Chongqing's
"县" joins it, and a county-level city directly under its province ("省直辖县级行政区划", e.g. 济源市)
is a city with no districts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data" / "china-division-2.7.0"
_MUNICIPAL_CITIES = {"市辖区", "县"}
_DIRECT_COUNTIES = {"省直辖县级行政区划", "自治区直辖县级行政区划"}


@dataclass(frozen=True)
class City:
    name: str
    code: str
    districts: dict[str, str]  # district name -> 6-digit code, in the data's order


@dataclass(frozen=True)
class Province:
    name: str
    code: str
    cities: dict[str, City]


@cache
def _tree() -> dict[str, Province]:
    raw = json.loads((DATA_DIR / "pca-code.json").read_text(encoding="utf-8"))
    tree: dict[str, Province] = {}
    for province in raw:
        cities: dict[str, City] = {}
        for city in province["children"]:
            districts = {area["name"]: area["code"] for area in city.get("children", [])}
            if city["name"] in _DIRECT_COUNTIES:
                for name, code in districts.items():
                    cities[name] = City(name=name, code=code, districts={})
            elif city["name"] in _MUNICIPAL_CITIES:
                name = province["name"]
                merged = cities.get(name)
                if merged is None:
                    cities[name] = City(name=name, code=city["code"], districts=districts)
                else:
                    merged.districts.update(districts)
            else:
                cities[city["name"]] = City(name=city["name"], code=city["code"], districts=districts)
        tree[province["name"]] = Province(name=province["name"], code=province["code"], cities=cities)
    return tree


def provinces() -> list[str]:
    """The 31 provincial-level names, in code order."""
    return list(_tree())


def cities(*, province: str) -> list[str]:
    """The cities of a province, in code order; [] for a name that is no province."""
    found = _tree().get(province)
    return list(found.cities) if found else []


def districts(*, province: str, city: str) -> list[str]:
    """The districts of a city of a province, in code order; [] for a pair that does not exist
    or a city with no districts."""
    found = _tree().get(province)
    city_found = found.cities.get(city) if found else None
    return list(city_found.districts) if city_found else []


def region_code(*, province: str, city: str = "", district: str = "") -> str | None:
    """The code of the most precise level named (2, 4 or 6 digits), or None when the names are
    not one valid chain: a city not in the province, a district not in the city, a district
    missing where the city has districts, or a name not in the data."""
    found = _tree().get(province)
    if found is None:
        return None
    if not city:
        return None if district else found.code
    city_found = found.cities.get(city)
    if city_found is None:
        return None
    if not district:
        return None if city_found.districts else city_found.code
    return city_found.districts.get(district)
