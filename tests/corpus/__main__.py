"""``python -m tests.corpus``: fetch the corpus into the cache and list it."""

from tests.corpus import BY_NAME, fetch, local_path

for name, path in fetch().items():
    entry = BY_NAME[name]
    size = sum(local_path(entry, m).stat().st_size for m in entry.members)
    print(f"{name:<18} {size / 1e6:7.2f} MB  {entry.archive.label:<38} {path}")
