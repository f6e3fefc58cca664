"""The LPO's UDP front-end (:2679): wire formats, signatures, the listener and its guards.

See docs/udp.md for the protocol a client speaks.
"""
