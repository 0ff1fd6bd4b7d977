"""rollgen: GitOps-native progressive delivery.

Every step of a rollout is a plain Kubernetes configuration committed to Git;
a health gate decides between commits whether to advance or abort.
"""

__version__ = "0.1.0"
