"""Writes the small NumPy-made .npy files the runtime tests read (tests must not need Python).
Regenerate: python3 make_npy.py (needs numpy)."""
import numpy as np

np.save("c_f64.npy", np.arange(6.0).reshape(2, 3))
np.save("f_i32.npy", np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3)))
np.save("bool.npy", np.array([True, False, True]))
np.save("scalar_f32.npy", np.float32(2.5))
np.save("empty_i64.npy", np.zeros((0, 4), dtype=np.int64))
