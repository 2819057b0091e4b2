"""The cost model (guide eq. 7): C_total = C_compute + C_storage + C_maintenance, from measured
usage (``measure``) and a dated AWS price table kept as data (``prices``)."""
