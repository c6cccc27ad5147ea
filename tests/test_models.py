"""Whole models: the generated C, built with gcc, is bit-exact with the oracle.

Every int8 model of ../shared/models/{mlperf_tiny,keras} over 20 random inputs and the
real inputs shipped there; float models within the float tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest

from aiotc.driver import compile_model
from aiotc.samples import load_samples, random_samples
from aiotc.toolchain.host import HostModel
from aiotc.verification import verify

from .conftest import shared_model

INT8_MODELS = [
    "mlperf_tiny/kws_ref_model.tflite",
    "mlperf_tiny/vww_96_int8.tflite",
    "mlperf_tiny/pretrainedResnet_quant.tflite",
    "mlperf_tiny/ad01_int8.tflite",
    "mlperf_tiny/str_ww_ref_model.tflite",
    "keras/fire_64_int8.tflite",
    "keras/mcunet_like_160_int8.tflite",
    "keras/mbv2_w035_144_int8.tflite",
]
FLOAT_MODELS = [
    "mlperf_tiny/vww_96_float.tflite",
    "mlperf_tiny/pretrainedResnet.tflite",
    "mlperf_tiny/ad01_fp32.tflite",
    "keras/fire_64_float.tflite",
    "keras/mcunet_like_160_float.tflite",
    "keras/mbv2_w035_144_float.tflite",
]


def _verify(relative, tmp_path, samples):
    out = compile_model(shared_model(relative), board="host", out_dir=tmp_path / "out").out_dir
    model = HostModel.build(out)
    return verify(out, "host", samples(model), runner=model)


@pytest.mark.slow
@pytest.mark.parametrize("relative", INT8_MODELS)
def test_int8_model_bit_exact_on_random_inputs(relative, tmp_path):
    result = _verify(relative, tmp_path, lambda m: random_samples(m.inputs, 20, seed=1))
    assert result.samples == 20
    assert result.mismatches == 0 and result.max_abs_diff == 0, result


@pytest.mark.slow
@pytest.mark.parametrize("relative", FLOAT_MODELS)
def test_float_model_within_tolerance(relative, tmp_path):
    result = _verify(relative, tmp_path, lambda m: random_samples(m.inputs, 5, seed=2))
    assert result.mismatches == 0, result


@pytest.mark.slow
def test_str_ww_bit_exact_on_real_calibration_samples(tmp_path):
    samples = shared_model("mlperf_tiny/calibration_samples.npz")
    result = _verify("mlperf_tiny/str_ww_ref_model.tflite", tmp_path, lambda m: load_samples(samples, m.inputs))
    assert result.samples >= 1
    assert result.mismatches == 0 and result.max_abs_diff == 0, result


@pytest.mark.slow
def test_ad01_bit_exact_on_real_spectrogram(tmp_path):
    frames = np.fromfile(shared_model("mlperf_tiny/ad01_sample_normal_id_01.bin"), dtype=np.float32)
    assert frames.size % 640 == 0
    path = tmp_path / "frames.npy"
    np.save(path, frames.reshape(-1, 1, 640))
    result = _verify("mlperf_tiny/ad01_int8.tflite", tmp_path, lambda m: load_samples(path, m.inputs))
    assert result.samples == frames.size // 640
    assert result.mismatches == 0 and result.max_abs_diff == 0, result
