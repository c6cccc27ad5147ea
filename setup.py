"""Packages are found automatically; templates/, runtime_c/ and boards/ stay at the top
of the repository and ship inside the package (pyproject.toml holds everything else)."""

from setuptools import find_packages, setup

DATA_PACKAGES = {"aiotc.templates": "templates", "aiotc.runtime_c": "runtime_c", "aiotc.boards": "boards"}

setup(packages=[*find_packages(include=["aiotc", "aiotc.*"]), *DATA_PACKAGES], package_dir=DATA_PACKAGES)
