"""The escapers that stand between a model's names and the generated files."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiotc.codegen.emit import layer_word
from aiotc.codegen.escape import MAX_NAME_CHARS, c_comment, c_word, plain_text, unique
from aiotc.driver import library_name

HOSTILE = [
    "*\\\n/ volatile int injected_by_model = 42; //",
    "*??/\n/ int trigraph_injection;",
    "a*/int b;/*",
    "//",
    "#define x 1",
    "$(shell rm -rf /) $$ \" ' `",
    "nul\0byte",
    "cr\rlf\r\n",
    "line\u2028para\u2029sep\x85nel\x0bvt\x0cff",
    "lone\udcffsurrogate",
    "???/??=??(",
    "x" * 100_000,
    "\\",
    "*",
    "/",
    "é中文",
]
hostile_text = st.text(alphabet=st.sampled_from(list("*/\\?\n\r\0\u2028\u2029 #$\"'ab") + ["\udcff", "é"]), max_size=40)


def assert_comment_safe(text: str) -> None:
    assert all(ch.isprintable() for ch in text) and "\\" not in text
    assert "??" not in text and "*/" not in text and "/*" not in text
    assert len(text) <= MAX_NAME_CHARS


@given(hostile_text)
def test_a_comment_cannot_be_closed_from_inside(text):
    assert_comment_safe(c_comment(text))


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_names_stay_inside_the_comment(text):
    assert_comment_safe(c_comment(text))


def test_plain_names_are_kept_and_long_ones_end_in_an_ellipsis():
    assert c_comment("model/conv2d/Conv2D;model/dense/BiasAdd") == "model/conv2d/Conv2D;model/dense/BiasAdd"
    assert c_comment("x" * 100_000) == "x" * (MAX_NAME_CHARS - 3) + "..."
    assert c_comment("a*/b/*c??/") == "a* /b/ *c? ?/"
    assert plain_text("a\nb\x1b[31m") == "a?b?[31m"


def test_gcc_sees_one_comment_per_hostile_name(tmp_path):
    """The C preprocessor, trigraphs on (-std=c99), agrees: every name stays inside its
    comment, so the file declares exactly the variables between the comments."""
    gcc = shutil.which("gcc") or pytest.skip("gcc not installed")
    lines = [f"/* {c_comment(text)} */ int v{i};" for i, text in enumerate(HOSTILE)]
    source = tmp_path / "comments.c"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="strict")
    result = subprocess.run(
        [gcc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-E", "-P", str(source)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [token for i in range(len(HOSTILE)) for token in ("int", f"v{i};")]


@settings(max_examples=200)
@given(st.text())
def test_words_are_ascii_identifier_characters(text):
    word = c_word(text, 32)
    assert len(word) <= 32 and all(ch.isascii() and (ch.isalnum() or ch == "_") for ch in word)
    assert not word.startswith("_") and not word.endswith("_")


def test_names_that_sanitize_alike_get_distinct_symbols():
    taken: set[str] = set()
    symbols = [unique(c_word(name), taken) for name in ("a-b", "a.b", "a b", "a_b_2", "a_b")]
    assert symbols == ["a_b", "a_b_2", "a_b_3", "a_b_2_2", "a_b_4"]


@pytest.mark.parametrize(
    "name, word",
    [
        ("mobilenetv2_0.35_144_1/Conv1_relu_1/Relu6;mobilenetv2_0.35_144_1/Conv1_1/convolution", "Conv1_1"),
        ("model/activation/Relu;model/batch_normalization/FusedBatchNormV3;model/conv2d/Conv2D1", "conv2d"),
        ("a/block_1_depthwise_1/depthwise;;a/block_1_pad_1/Pad1", "block_1_pad_1"),
        ("model/activation_1/Relu;model/depthwise_conv2d/BiasAdd/ReadVariableOp/resource1", "depthwise_conv2d"),
        ("/0/Gemm", "0"),
        ("/features/features.0/Conv", "features_0"),
        ("Conv_0", "Conv_0"),
        ("*/\\\n", "layer"),
    ],
)
def test_layer_words_are_the_scope_that_names_the_layer(name, word):
    assert layer_word(name) == word


def test_the_library_name_from_a_hostile_file_name_is_an_ascii_identifier():
    """It names the C symbols and the Make and CMake targets: nothing else of the model reaches those files."""
    assert library_name("hostile *\\\n?? $(x)\udcff#é") == "hostile_x"
    assert library_name("1 model") == "m_1_model"
