from tranquillite.sensors.landing import landing_sensor

__all__ = ["landing_sensor"]
