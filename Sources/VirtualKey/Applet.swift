// The virtual key applet lives here.
