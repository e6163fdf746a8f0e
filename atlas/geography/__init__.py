"""The geography a drop is counted on (spec section 2, *Residence* and *Geocoding*): the ONS
postcode directory, the LSOA, MSOA and LA boundaries with their populations, and the match of
each client postcode to an LSOA and LA.

- ``directory``: the NSPL/ONSPD postcode directory, read once and cached as Arrow.
- ``areas``: ``load_geography``: boundaries, populations, the MSOA lookup, in one ``Geography``.
- ``geocode``: postcode match levels, the residence of each person, where each site is.
- ``fetch``: downloading boundaries from the ONS Open Geography Portal.
- ``la_dissolve``, ``simplify_cache``, ``geometry_cache``: derived shapes, cached by content.
"""
