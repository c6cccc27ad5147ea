"""`aiotc compile --package`: each layout checked by the tool that consumes it, or by its schema.

- zephyr: module.yml against Zephyr's own pykwalify schema (tests/data/packages/zephyr_module_schema.yml,
  from scripts/zephyr_module.py), the Kconfig parsed by kconfiglib (the parser Zephyr's build runs),
  the CMakeLists run by cmake in script mode with Zephyr's library functions recorded.
- cmsis-pack: the .pdsc against the Open-CMSIS-Pack schema (tests/data/packages/PACK.xsd, schema/PACK.xsd
  of Open-CMSIS-Pack/Open-CMSIS-Pack-Spec at f34f91d07e4299e8aab0e4ee7fb8ff4834001c3e), and with
  CMSIS-Toolbox's packchk where it is installed (no registry ships it).
- platformio: `pio pkg pack` (PlatformIO validates the manifest) and PlatformIO's own source filter.
- arduino: library.properties against the library specification's fields, the example sketch
  built by arduino-builder with Debian's AVR core (the only Arduino core a registry ships), and
  run on the host against a stub of the core's Serial.

Each layout's own list of sources, built with gcc into the example program, must print what the
folder's CMake build prints: a list that misses a file does not link.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from aiotc.demo import stripes_model
from aiotc.export.tflite import write_tflite

from .conftest import ROOT, aiotc

DATA = Path(__file__).parent / "data" / "packages"
NAME = "stripes"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """The demo model compiled with every package layout."""
    model = tmp_path_factory.mktemp("model") / f"{NAME}.tflite"
    model.write_bytes(write_tflite(stripes_model()))
    out = tmp_path_factory.mktemp("packaged") / NAME
    packages = [word for layout in ("zephyr", "cmsis-pack", "platformio", "arduino") for word in ("--package", layout)]
    result = aiotc("compile", model, "-o", out, "-q", *packages)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def expected_output(folder, tmp_path_factory) -> str:
    """What the folder's example prints when built from its own CMakeLists.txt."""
    build = tmp_path_factory.mktemp("cmake")
    subprocess.run(["cmake", "-S", folder, "-B", build], check=True, capture_output=True)
    subprocess.run(["cmake", "--build", build], check=True, capture_output=True)
    return run([build / f"{NAME}_example"])


def run(command: list) -> str:
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def build_example(sources: list[Path], includes: list[Path], tmp_path: Path, main: Path) -> str:
    """The example program built from a package's list of sources and include folders, and its output."""
    exe = tmp_path / "example"
    flags = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-O1"]
    run(["gcc", *flags, *(f"-I{path}" for path in includes), *map(str, sources), str(main), "-lm", "-o", str(exe)])
    return run([str(exe)])


def test_zephyr_module_meets_zephyrs_schema_and_builds(folder, expected_output, tmp_path):
    pykwalify = pytest.importorskip("pykwalify.core")
    kconfiglib = pytest.importorskip("kconfiglib")
    import yaml

    meta = yaml.safe_load((folder / "zephyr" / "module.yml").read_text())
    schema = yaml.safe_load((DATA / "zephyr_module_schema.yml").read_text())
    pykwalify.Core(source_data=meta, schema_data=schema).validate()
    assert meta["name"] == f"aiotc_{NAME}"  # apart from Zephyr's own modules
    assert (folder / meta["build"]["cmake"] / "CMakeLists.txt").is_file()  # what zephyr_module.py checks next
    kconfig = kconfiglib.Kconfig(str(folder / meta["build"]["kconfig"]), warn_to_stderr=False)
    symbol = kconfig.syms[f"AIOTC_{NAME.upper()}"]
    assert symbol.type == kconfiglib.BOOL and not kconfig.warnings, kconfig.warnings

    calls = record_zephyr_calls(folder, tmp_path, enabled=True)
    assert calls["zephyr_library_named"] == [f"aiotc_{NAME}"]
    sources = [Path(path).resolve() for path in calls["zephyr_library_sources"]]
    includes = [Path(path).resolve() for path in calls["zephyr_include_directories"]]
    *kernels, key, option, level, frame = calls["set_source_files_properties"]  # test_runtime_flags.py
    assert [Path(k).resolve() for k in kernels] == [s for s in sources if s.parent.name == "aiotc_runtime"]
    assert kernels and [key, option, level, frame] == ["PROPERTIES", "COMPILE_OPTIONS", "-O2", "-fomit-frame-pointer"]
    assert build_example(sources, includes, tmp_path, folder / "example_main.c") == expected_output
    assert record_zephyr_calls(folder, tmp_path, enabled=False) == {}  # CONFIG_AIOTC_STRIPES=n: nothing built


def record_zephyr_calls(folder: Path, tmp_path: Path, enabled: bool) -> dict[str, list[str]]:
    """zephyr/CMakeLists.txt run by `cmake -P` with Zephyr's functions defined to print their arguments."""
    script = tmp_path / "zephyr_stub.cmake"
    stubs = "".join(
        f'function({fn})\n  foreach(arg ${{ARGV}})\n    message(STATUS "{fn} ${{arg}}")\n  endforeach()\nendfunction()\n'
        for fn in (
            "zephyr_library_named",
            "zephyr_library_sources",
            "zephyr_include_directories",
            "set_source_files_properties",  # not scriptable: stubbed too
        )
    )
    config = f"set(CONFIG_AIOTC_{NAME.upper()} y)\n" if enabled else ""
    script.write_text(f"{stubs}{config}include({folder / 'zephyr' / 'CMakeLists.txt'})\n")
    result = subprocess.run(["cmake", "-P", str(script)], capture_output=True, text=True)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    calls: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        fn, arg = line.removeprefix("-- ").split(" ", 1)
        calls.setdefault(fn, []).append(arg)
    return calls


def test_cmsis_pack_description_meets_the_pack_schema_and_builds(folder, expected_output, tmp_path):
    xmlschema = pytest.importorskip("xmlschema")
    pdsc = folder / f"aiotc.{NAME}.pdsc"
    xmlschema.XMLSchema(DATA / "PACK.xsd").validate(pdsc)
    package = ET.parse(pdsc).getroot()
    assert pdsc.name == f"{package.findtext('vendor')}.{package.findtext('name')}.pdsc"  # packchk's M(file name) rule
    files = package.findall("components/component/files/file")
    for file in files:
        assert (folder / file.get("name")).exists(), file.get("name")
    includes = [folder / f.get("name") for f in files if f.get("category") == "include"]
    sources = [folder / f.get("name") for f in files if f.get("category") == "sourceC" and f.get("attr") != "template"]
    assert build_example(sources, includes, tmp_path, folder / "example_main.c") == expected_output


def test_packchk_passes_the_pack(folder):
    packchk = shutil.which("packchk")
    if packchk is None:
        pytest.skip("packchk (CMSIS-Toolbox) is not installed: no package registry ships it")
    result = subprocess.run([packchk, str(folder / f"aiotc.{NAME}.pdsc")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def platformio() -> Path:
    """PlatformIO's `pio`: on PATH, or in the virtual environment `make toolchain` makes (build/platformio)."""
    found = shutil.which("pio") or (ROOT / "build" / "platformio" / "bin" / "pio")
    if not Path(found).is_file():
        pytest.skip("PlatformIO is not installed (make toolchain installs it)")
    return Path(found)


def test_platformio_packs_the_library_and_filters_its_sources(folder, expected_output, tmp_path):
    pio = platformio()
    result = subprocess.run([pio, "pkg", "pack", str(folder)], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((folder / "library.json").read_text())
    with tarfile.open(tmp_path / f"{NAME}-{manifest['version']}.tar.gz") as tarball:
        packed = set(tarball.getnames())
    assert {"library.json", f"{NAME}.h", f"{NAME}.c", "aiotc_runtime/aiotc_nn.h"} <= packed
    assert not any(path.startswith(("arduino", "zephyr")) for path in packed)  # the export excludes

    build = manifest["build"]
    matched = run(
        [
            pio.parent / "python",
            "-c",
            "import json, sys; from platformio.fs import match_src_files; "
            "print(json.dumps(sorted(match_src_files(sys.argv[1], json.loads(sys.argv[2])))))",
            folder / build["srcDir"],
            json.dumps(build["srcFilter"]),
        ]
    )
    sources = [folder / build["srcDir"] / rel for rel in json.loads(matched)]
    assert folder / "example_main.c" not in sources
    includes = [folder / build["includeDir"]] + [folder / flag.removeprefix("-I").strip() for flag in build["flags"]]
    assert build_example(sources, includes, tmp_path, folder / "example_main.c") == expected_output


# The library specification's fields (https://arduino.github.io/arduino-cli/latest/library-specification/).
ARDUINO_REQUIRED = ("name", "version", "author", "maintainer", "sentence", "paragraph", "category", "url")
ARDUINO_CATEGORIES = (
    "Display",
    "Communication",
    "Signal Input/Output",
    "Sensors",
    "Device Control",
    "Timing",
    "Data Storage",
    "Data Processing",
    "Other",
)


def test_arduino_library_follows_the_library_specification(folder):
    library = folder / "arduino" / NAME
    fields = dict(
        line.split("=", 1)
        for line in (library / "library.properties").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert all(fields.get(key) for key in ARDUINO_REQUIRED), fields
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 _.\-]{0,62}", fields["name"]) and fields["name"] == library.name
    assert re.fullmatch(r"(0|[1-9]\d*)(\.(0|[1-9]\d*)){0,2}", fields["version"])
    assert fields["category"] in ARDUINO_CATEGORIES and re.match(r"https?://", fields["url"])
    assert fields["architectures"] and "avr" not in fields["architectures"].split(",")
    for header in fields["includes"].split(","):
        assert (library / "src" / header).is_file()
    example = library / "examples" / f"{NAME}_example"
    assert (example / f"{NAME}_example.ino").is_file()  # a sketch's folder is named after it
    assert set(path.name for path in (library / "src").iterdir()) >= {f"{NAME}.c", f"{NAME}_weights.c", "aiotc_nn.h"}


# The part of the Arduino core the example sketch uses, for building it on the host.
ARDUINO_STUB = """
#include <stdint.h>
#include <stdio.h>
struct HostSerial {
    void begin(long) {}
    void print(const char *s) { fputs(s, stdout); }
    void print(char c) { putchar(c); }
    void print(int v) { printf("%d", v); }
    void print(long v) { printf("%ld", v); }
    void print(unsigned long v) { printf("%lu", v); }
    void print(double v, int digits) { printf("%.*f", digits, v); }
    template <typename T> void println(T v) { print(v); putchar('\\n'); }
    void println() { putchar('\\n'); }
} Serial;
static unsigned long micros() { return 0; }
static void delay(unsigned long) {}
"""


def test_arduino_example_sketch_prints_what_the_c_example_prints(folder, expected_output, tmp_path):
    """The sketch, built on the host as C++ against a stub of the Arduino core, calls the C API right."""
    library = folder / "arduino" / NAME
    (tmp_path / "Arduino.h").write_text(ARDUINO_STUB)
    (tmp_path / "main.cpp").write_text(
        f'#include "Arduino.h"\n#include "{library}/examples/{NAME}_example/{NAME}_example.ino"\n'
        "int main() { setup(); loop(); return 0; }\n"
    )
    sources = sorted((library / "src").glob("*.c"))
    objects = []
    for source in sources:
        objects.append(tmp_path / f"{source.stem}.o")
        run(["gcc", "-std=c99", "-O1", "-c", str(source), "-o", str(objects[-1])])
    exe = tmp_path / "sketch"
    run(
        [
            "g++",
            "-Wall",
            "-Werror",
            f"-I{tmp_path}",
            f"-I{library / 'src'}",
            str(tmp_path / "main.cpp"),
            *map(str, objects),
            "-lm",
            "-o",
            str(exe),
        ]
    )
    printed = run([str(exe)])
    assert printed.startswith(expected_output) and printed[len(expected_output) :].startswith("microseconds: ")


def test_arduino_builder_builds_the_example_sketch(folder, tmp_path):
    builder = shutil.which("arduino-builder")
    hardware = Path("/usr/share/arduino/hardware")
    if builder is None or not hardware.is_dir():
        pytest.skip("arduino-builder and Debian's arduino-core-avr are not installed")
    libraries = tmp_path / "libraries"
    shutil.copytree(folder / "arduino" / NAME, libraries / NAME)  # as a user copies it into the sketchbook
    build = tmp_path / "build"
    build.mkdir()
    result = subprocess.run(
        [
            builder,
            "-compile",
            *("-hardware", str(hardware), "-hardware", "/usr/share/arduino-builder", "-tools", "/usr/bin"),
            *("-libraries", str(libraries), "-fqbn", "arduino:avr:mega:cpu=atmega2560", "-build-path", str(build)),
            # Debian's AVR core misses DECIMAL_DIG with its own avr-gcc; nothing of the library's
            "-prefs=compiler.cpp.extra_flags=-DDECIMAL_DIG=17",
            str(libraries / NAME / "examples" / f"{NAME}_example" / f"{NAME}_example.ino"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # it found the library by its header and read library.properties (AVR is not among its architectures)
    assert f"library {NAME} claims to run on (samd" in result.stdout and (build / f"{NAME}_example.ino.hex").is_file()


def test_an_unknown_layout_and_a_name_a_format_refuses_are_one_line(folder, tmp_path):
    from aiotc.errors import UsageError
    from aiotc.package import check_packages

    with pytest.raises(UsageError, match="unknown package layout conan"):
        check_packages(("conan",), NAME)
    result = aiotc("compile", folder / "missing.tflite", "--name", "x" * 40, "--package", "cmsis-pack")
    assert result.returncode == 2 and "at most 32 characters" in result.stderr
