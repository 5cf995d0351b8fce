import { createApp } from 'vue'
import 'vant/es/dialog/style'
import './styles.css'
import App from './App.vue'
import { router } from './router'
import { prefetch } from './early'

prefetch(location.pathname)

createApp(App).use(router).mount('#app')
