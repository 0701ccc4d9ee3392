"""branchbot (支部助手): keeps Party branches in touch with their members."""

__version__ = "0.1.0"
