"""Rendering (spec section 4): published (already protected) values in, file bytes out.
Nothing here counts.

- ``tables``: the CSV tables; ``reports``, ``charts``: the monitoring and data-quality reports.
- ``atlas_page``, ``atlas_data``, ``classify``, ``siting_layer``, ``geojson``: the atlas page,
  its data, class breaks and the GeoJSON files; ``assets``: Leaflet, fetched once from npm.
- ``index_page``: the index of the drops in an output folder.
"""
