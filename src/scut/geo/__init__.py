"""Map reference data: administrative boundaries and a gazetteer of places.

The centre loads both once (``scut geo import``): a GeoJSON file of
boundaries (raions and municipalities, by ISO 3166-2 code) and a GeoNames
gazetteer of populated places. The map pages draw the boundaries, place
media GPS points and persons' addresses in their areas, and geocode
localities to coordinates.
"""
