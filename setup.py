"""The one native piece, rtc._wire (rtc/_wire.c, see rtc/wire.py), built by the normal
``pip install``. ``optional``: without a compiler or Python's headers the install still
succeeds and the forward path runs its pure-Python twin (scripts/serve and scripts/test
install both where missing). It links nothing: it calls pylibsrtp's own libsrtp."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "rtc._wire",
            ["rtc/_wire.c"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
            optional=True,
        )
    ]
)
