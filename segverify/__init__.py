"""segverify: verify three-tier (三層の対策) network segmentation from topology, captures and firewall exports."""

__version__ = "0.1.0"
