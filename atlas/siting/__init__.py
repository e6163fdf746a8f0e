"""Where to site new NSP services (``[siting]``): PWID demand per LSOA, the coverage of
today's NSP sites, and the candidates that would close the gaps most.

- ``model``: candidates, demand points and the Maximal Covering Location Problem (HiGHS).
- ``publish``: which siting figures may be published beside the protected counts.
- ``stage``: the stage as the drop and ``ims-atlas site-plan`` run it.
"""
