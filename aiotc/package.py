"""`aiotc compile --package`: the output folder laid out for the build systems people drop libraries into.

Each layout lists the folder's own files, so a package always names exactly what was written:
the library's sources (the graph, its weights, the kernels it calls in aiotc_runtime/), never
example_main.c, which has a main(). Where each layout goes follows what its users expect
(docs/integrating.md):

- zephyr: zephyr/module.yml, zephyr/CMakeLists.txt and zephyr/Kconfig inside OUT, where
  Zephyr looks for a module's files; the folder itself is the module (ZEPHYR_EXTRA_MODULES).
- cmsis-pack: aiotc.NAME.pdsc at OUT's root, the pack's root (`cpackget add OUT/aiotc.NAME.pdsc`).
- platformio: library.json at OUT's root, so OUT drops into a project's lib/ as it is.
- arduino: arduino/NAME/, a library of its own (library.properties, src/, examples/) to copy
  into the sketchbook's libraries/ or zip: Arduino compiles every source under a library's
  src/, so it cannot share the folder's root with the Make and CMake files.

Only C identifiers (the model's name, kernel file names) and the board's name reach these
files: nothing the model file controls.
"""

from __future__ import annotations

import json

from . import __version__
from .errors import UsageError
from .resources import template_env
from .schema import Report

PACKAGES = ("zephyr", "cmsis-pack", "platformio", "arduino")
VENDOR = "aiotc"  # the CMSIS-Pack vendor: the pack is aiotc.NAME


def package_files(packages: tuple[str, ...], files: dict[str, str | bytes], report: Report) -> dict[str, str]:
    """The files each of `packages` adds to the output folder of `report` whose files are `files`."""
    name = report["name"]
    runtime = sorted(rel for rel in files if rel.startswith("aiotc_runtime/"))
    sources = [f"{name}.c", f"{name}_weights.c", *(rel for rel in runtime if rel.endswith(".c"))]
    headers = [f"{name}.h", *(rel for rel in runtime if rel.endswith(".h"))]
    values = {
        "name": name,
        "NAME": name.upper(),
        "version": __version__,
        "board": report["board"],
        "arena_bytes": report["arena_bytes"],
        "vendor": VENDOR,
        "sources": sources,
        "headers": headers,
        "outputs": report["outputs"],
    }
    env = template_env("package")
    added: dict[str, str] = {}
    if "zephyr" in packages:
        for rel in ("module.yml", "CMakeLists.txt", "Kconfig"):
            added[f"zephyr/{rel}"] = env.get_template(f"zephyr/{rel}.j2").render(**values)
    if "cmsis-pack" in packages:
        added[f"{VENDOR}.{name}.pdsc"] = env.get_template("cmsis.pdsc.j2").render(**values)
    if "platformio" in packages:
        added["library.json"] = platformio_manifest(values)
    if "arduino" in packages:
        root = f"arduino/{name}"
        added[f"{root}/library.properties"] = env.get_template("arduino/library.properties.j2").render(**values)
        added[f"{root}/examples/{name}_example/{name}_example.ino"] = env.get_template("arduino/example.ino.j2").render(
            **values
        )
        for rel in headers + sources:  # src/ flat: every #include "x.h" finds its file beside it
            added[f"{root}/src/{rel.rsplit('/', 1)[-1]}"] = str(files[rel])
    return added


def check_packages(packages: tuple[str, ...], name: str) -> None:
    """Known layouts, and a C name the formats take: it names the pack's component and the Arduino library."""
    unknown = sorted(set(packages) - set(PACKAGES))
    if unknown:
        raise UsageError(f"unknown package layout {', '.join(unknown)}: choose from {', '.join(PACKAGES)}")
    if "cmsis-pack" in packages and len(name) > 32:
        raise UsageError(
            f"--package cmsis-pack: a component name has at most 32 characters, {name!r} has {len(name)}: pass --name"
        )
    if "arduino" in packages and (len(name) > 63 or name.lower().startswith("arduino")):
        raise UsageError(
            f"--package arduino: a library name has at most 63 characters and only Arduino's own start with 'Arduino' ({name!r}): pass --name"
        )


def platformio_manifest(values: dict) -> str:
    """library.json: the folder as a PlatformIO library, building only the library's sources."""
    name = values["name"]
    manifest = {
        "name": name,
        "version": values["version"],
        "description": f"The {name} model compiled by aiotc {values['version']} for {values['board']}: "
        f"{name}_invoke(input, output) in {name}.h",
        "keywords": ["tinyml", "neural network", "aiotc"],
        "frameworks": "*",
        "platforms": "*",
        "headers": f"{name}.h",
        "build": {
            "srcDir": ".",
            "includeDir": ".",
            "srcFilter": ["-<*>", *(f"+<{rel}>" for rel in values["sources"])],
            "flags": ["-I aiotc_runtime"],
        },
        "export": {"exclude": ["arduino", "*.pdsc", "zephyr", "manifest.sha256", "report.html", "pareto.svg"]},
    }
    return json.dumps(manifest, indent=2) + "\n"
