"""The core every other layer stands on: no aws_cdk, no numpy, no boto3, only the standard library.

- `settings`: the one typed, validated settings object; `naming`: the names and fixed values the
  stacks, the Lambdas, the CLI and the local mode share; `sagemaker_inputs`: what a training job
  and a model package are handed; `quality_gate`: whether a model may be served.
- `aws`, `model_registry`: small helpers over AWS answers (clients are passed in).
- `staging`: the synth-time assets (the Lambda bundle, the sourcedir, the training data), and
  `import_graph`, the imports read from the source, which decide what the Lambda bundle holds.

It imports only `model_code`'s pure modules (the number syntax), which ship with it in the bundle.
"""
