"""modelport.packaging: container build contexts and the manifests that run them.

``build_context`` writes what ``modelport build`` hands to podman or docker; ``render`` turns a
:class:`ServingOptions` into Kubernetes (and KServe, Knative, KEDA) manifests, plain YAML.
"""
