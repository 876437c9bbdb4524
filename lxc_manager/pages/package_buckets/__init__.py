"""`/templates/packages`: package buckets, named lists of packages templates can share."""
