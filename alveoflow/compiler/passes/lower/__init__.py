"""Lowering to hardware ops: ``walk.lower_to_hw`` (nn graph -> hw ops on integer NHWC
streams) and ``duplicate.insert_duplicate_streams`` (one reader per stream)."""
