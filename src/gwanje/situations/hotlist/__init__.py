"""The police hot list of wanted and stolen vehicles: matching (``rules``), upload and cache
(``service``), and its routes (``api``)."""
