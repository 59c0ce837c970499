// Entry point: pick the transport, build the stores, render.

import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createTransport } from './api';
import { App } from './components/app';
import { createAppStores } from './store/app-stores';
import { StoresContext } from './store/use-stores';

const stores = createAppStores(createTransport());
const root = document.getElementById('root');
if (!root) throw new Error('index.html lacks #root');
createRoot(root).render(
  <StrictMode>
    <StoresContext.Provider value={stores}>
      <App />
    </StoresContext.Provider>
  </StrictMode>,
);
