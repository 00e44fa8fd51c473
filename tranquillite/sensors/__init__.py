"""Sensors and schedules. Import the module you need (`tranquillite.sensors.landing`, …): this package
imports nothing, so that reading one sensor does not load the others' dependencies."""


def __getattr__(name: str):
    if name == "landing_sensor":
        from tranquillite.sensors.landing import landing_sensor

        return landing_sensor
    raise AttributeError(f"module 'tranquillite.sensors' has no attribute {name!r}")
