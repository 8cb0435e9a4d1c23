import { settings } from 'jsroot/core';

// JSROOT listens to arrow keys on the whole window to zoom its frames and swallows them: a focused slider or select
// elsewhere on the page would no longer move. Keyboard users need the page's controls more than frame zooming.
settings.HandleKeys = false;
