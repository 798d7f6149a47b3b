"""Use case: the runs under the runs root — which there are, how each went, and tidying them up.

`listing` reads them (JSON only: no TensorFlow, no NumPy, so `rnncli runs` answers at once);
`removal` deletes them, strictly. The CLI's `rnncli runs` group renders what they return.
"""
