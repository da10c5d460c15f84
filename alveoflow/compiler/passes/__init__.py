"""Graph passes (pure ``Graph -> Graph`` functions): ``streamline``, ``lower``, ``legalize``.
Their order is written down once, in ``alveoflow.compiler.pipeline``."""
