"""Packaging for alveoflow: a compiler and runtime for low-precision dataflow accelerators."""

from setuptools import find_packages, setup

CORE = [
    "numpy>=1.24",
    "torch>=2.13,<=2.14.1",
    "brevitas==0.13.4",
    "qonnx==1.0.0",
    "onnx>=1.15",
    "onnxruntime>=1.17",
    "onnxoptimizer>=0.3",
    "jinja2>=3.1",
    "tqdm>=4.60",
    "matplotlib>=3.7",
]

EXTRAS = {
    "dev": [
        "pytest>=7",
        "pytest-xdist>=3",
        "hypothesis>=6",
        "ruff>=0.5",
        "mypy>=1.8",
        "nbmake>=1.5",
        "nbformat>=5",
        "ipykernel>=6",
    ],
    # The C++ simulation needs only the ap_int/hls_stream headers the hls4ml wheel ships
    # (installed with --no-deps by the Makefile) and a g++ on PATH.
    "hls": ["hls4ml>=1.0"],
    # A real card: PYNQ 3.0.x is the last release with Alveo support and needs XRT; it pins numpy<2.
    "alveo": ["pynq>=3.0,<3.1", "numpy<2"],
}

setup(
    name="alveoflow",
    version="0.1.0",
    description=(
        "Compile Brevitas networks into streaming dataflow accelerators for AMD Alveo cards"
    ),
    python_requires=">=3.11",
    packages=find_packages(include=["alveoflow", "alveoflow.*"]),
    package_data={
        "alveoflow": [
            "hw/hls/include/*.hpp",
            "hw/rtl/*.sv",
            "hw/rtl/harness.cpp",
            "hw/rtl/calibration.json",
            "hw/platforms/*.json",
            "hw/scripts/*",
            "compiler/codegen/templates/*",
        ]
    },
    install_requires=CORE,
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["alveoflow=alveoflow.cli:main"]},
)
