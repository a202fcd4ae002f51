"""``stridenet export MODEL_FILE --format onnx --out m.onnx``: a saved model for other runtimes.

MODEL_FILE is anything ``load_model`` reads: a stridenet ``.safetensors`` file, a Keras
``.keras`` archive or a Keras 2 ``.h5`` file.
"""

from __future__ import annotations

import os

from .common import CLIError, load_model_file

FORMATS = ("onnx",)


def add_export_parser(sub) -> None:
    ex = sub.add_parser("export", help="write a saved model as ONNX",
                        description="Export a saved model (stridenet .safetensors, Keras "
                        ".keras or .h5) to ONNX: opset 17, channels-last input and output, "
                        "dynamic batch axis.")
    ex.add_argument("model_file", metavar="MODEL_FILE", help="a file written by model.save "
                    "(or a Keras .keras/.h5 file)")
    ex.add_argument("--format", default="onnx", choices=FORMATS,
                    help="the output format (default: onnx)")
    ex.add_argument("--out", required=True, metavar="FILE", help="the file to write, e.g. m.onnx")
    ex.add_argument("--opset", type=int, default=None, metavar="N",
                    help="ONNX opset version (default: 17; at least 17)")
    ex.set_defaults(func=cmd_export)


def cmd_export(args) -> int:
    if os.path.isdir(args.out):
        raise CLIError(f"--out {args.out} is a folder; give a file name such as m.onnx")
    model = load_model_file(args.model_file)
    try:
        model.export(args.out, format=args.format, opset_version=args.opset)
    except ImportError as err:  # the onnx package is missing
        raise CLIError(str(err)) from None
    except ValueError as err:  # a layer without an ONNX counterpart, a bad opset
        raise CLIError(str(err)) from None
    print(f"wrote {args.out} ({os.path.getsize(args.out):,} bytes, format {args.format})")
    return 0
