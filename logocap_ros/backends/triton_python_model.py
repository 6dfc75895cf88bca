# Copyright 2026 The logocap_ros Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""Triton Python-backend model: runs the batched LOGO-CAP ONNX file with ONNX Runtime (CPU).

``logocap-triton-repo`` copies this file to ``<repository>/<model>/<version>/model.py``, next
to ``model.onnx``. It runs inside the server's Python (the stub of Triton's Python backend),
so it imports only numpy, onnxruntime and Triton's ``triton_python_backend_utils``, never
``logocap_ros``.

Dynamic batching hands :meth:`TritonPythonModel.execute` several requests at once; their
``images`` ``[b_i, 3, H, W]`` are concatenated into one ``[sum b_i, 3, H, W]`` array, run in
one ONNX Runtime call (the file's ``Scan`` runs the images one after another) and the outputs
are split back per request.
"""

import json
import os
from typing import Dict, List

import numpy as np

INPUT_NAME = 'images'
OUTPUT_NAMES = ('poses', 'scores', 'centers')


class TritonPythonModel:
    """The model object Triton's Python backend creates once per model instance."""

    def initialize(self, args: Dict[str, str]) -> None:
        """Open ``model.onnx`` of this version with ONNX Runtime on the CPU.

        The model config's ``parameters`` may set ``intra_op_threads`` (default 0: ONNX
        Runtime's choice, one per core).
        """
        import onnxruntime as ort
        config = json.loads(args['model_config'])
        params = {k: v.get('string_value', '') for k, v in config.get('parameters', {}).items()}
        folder = os.path.join(args['model_repository'], args['model_version'])
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = int(params.get('intra_op_threads') or 0)
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(os.path.join(folder, 'model.onnx'), opts,
                                            providers=['CPUExecutionProvider'])

    def execute(self, requests: List[object]) -> List[object]:
        """Run all ``requests`` as one batch; one response (or error) per request."""
        import triton_python_backend_utils as pb_utils
        try:
            images = [pb_utils.get_input_tensor_by_name(r, INPUT_NAME).as_numpy()
                      for r in requests]
            outs = self.session.run(list(OUTPUT_NAMES),
                                    {INPUT_NAME: np.concatenate(images).astype(np.float32)})
        except Exception as exc:  # noqa: BLE001 - every request must get an answer
            error = pb_utils.TritonError(f'logocap model: {type(exc).__name__}: {exc}')
            return [pb_utils.InferenceResponse(output_tensors=[], error=error)
                    for _ in requests]
        responses, start = [], 0
        for batch in images:
            stop = start + batch.shape[0]
            tensors = [pb_utils.Tensor(name, np.ascontiguousarray(out[start:stop]))
                       for name, out in zip(OUTPUT_NAMES, outs)]
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
            start = stop
        return responses

    def finalize(self) -> None:
        """Release the session."""
        self.session = None
