"""Linking the IMS individuals with partners' data without moving identities (issue 18).

A partner keys its file of attributors with the shared secret (``ims-atlas link-key``:
HMAC-SHA256 of the attributor of spec section 2, normalised as the IMS individuals are), and
the build keys its own individuals' attributors with the same secret, so the same person gives
the same keyed attributor on both sides and no attributor leaves either. This stage (after
counting, before disclosure control) owns the keying, the partner files (treatment episodes,
the drug-related deaths register), and every linked count as cells of the drop's one
disclosure-control problem: ``keys``, ``partner_files``, ``treatment``, ``deaths``, ``stage``.
"""
